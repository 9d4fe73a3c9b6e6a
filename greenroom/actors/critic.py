"""The Critic: judges whether a step achieved its intent."""

from __future__ import annotations

import threading

from greenroom.actors.base import CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.actors.prompts import VERDICT_SCHEMA, VerdictOutput, decode_output, verdict_messages
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import CriticVerdict
from greenroom.models.backend import GenerationRequest


class CriticActor(GreenroomActor):
    name = "critic"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps

    def judge(
        self,
        task_id: str,
        goal: str,
        step: int,
        intent: str,
        result: str,
        *,
        stop: threading.Event,
        causation: int | None,
    ) -> Envelope:
        """Publish a ``critic.verdict`` (accept / retry / replan) for step ``step``."""
        deps = self.deps
        assert deps.handles is not None
        request = GenerationRequest(
            messages=verdict_messages(goal, intent, result),
            purpose=f"verdict:{step}",
            schema=VERDICT_SCHEMA,
            max_tokens=deps.llm.max_tokens,
            temperature=deps.llm.temperature,
            top_p=deps.llm.top_p,
        )
        text, finished = deps.handles.llm.ask("generate", request, task_id=task_id, causation=causation, stop=stop)
        out = decode_output(text, VerdictOutput, "verdict")
        return deps.bus.publish(
            CriticVerdict(step=step, verdict=out.verdict, reason=out.reason),
            source=self.name,
            task_id=task_id,
            causation_id=finished.seq,
            correlation_id=task_id,
        )
