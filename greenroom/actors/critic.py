"""The Critic: judges whether a step achieved its intent, published as ``critic.verdict``."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_never

from greenroom.actors import grounding
from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor, Interrupted
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import CriticMessage, GenerateNow, JudgeStep
from greenroom.actors.planner import publish_failure
from greenroom.actors.prompts import VERDICT_SCHEMA, VerdictOutput, decode_output, verdict_messages
from greenroom.actors.schemas import REASON_CHARS
from greenroom.bus.events import CriticVerdict, LlmFinished
from greenroom.models.backend import GenerationRequest

VERDICT_TOKENS = REASON_CHARS + 30
"""A verdict and a one-line reason: room for the reason at one token a character (a model that
repeats itself fills it), so the JSON closes instead of being cut; a reason in a script of more
tokens a character is cut and closed where it stopped (``decode_output(cut=True)``)."""


class CriticActor(GreenroomActor):
    name = "critic"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps

    def handle(self, message: CriticMessage) -> Any:
        match message:
            case JudgeStep():
                self.judge(message)
            case _:
                assert_never(message)

    def judge(self, message: JudgeStep) -> None:
        """Publish a ``critic.verdict`` (accept / retry / replan) for the step, or ``request.failed``."""
        deps = self.deps
        assert deps.handles is not None
        context = grounding.task_context(deps, message.task_id or "", message.goal)  # as every call of the task
        request = GenerationRequest(
            messages=verdict_messages(
                message.goal, message.intent, message.result, message.evidence, deps.tools, context
            ),
            purpose=f"verdict:{message.step}",
            schema=VERDICT_SCHEMA,
            max_tokens=min(deps.llm.max_tokens, VERDICT_TOKENS),
            temperature=deps.llm.temperature,
            top_p=deps.llm.top_p,
        )
        generate = GenerateNow(task_id=message.task_id, key=message.key, request=request, causation=message.causation)
        try:
            finished = deps.handles.llm.ask(generate)
            event = finished.event
            assert isinstance(event, LlmFinished)
            # A reason in a script of several tokens a character can fill the cap: keep what came.
            out = decode_output(event.text, VerdictOutput, "verdict", cut=event.stop_reason == "length")
        except Interrupted:
            return
        except CallFailed as exc:
            publish_failure(deps, message.task_id, message.key, exc, message.causation)
            return
        deps.bus.publish(
            CriticVerdict(step=message.step, verdict=out.verdict, reason=out.reason),
            source=self.name,
            task_id=message.task_id,
            causation_id=finished.seq,
            correlation_id=message.task_id,
        )
