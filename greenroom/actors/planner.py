"""The Planner: turns a goal into a plan of steps, published as ``task.planned``."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_never

from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor, Interrupted
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import GenerateNow, PlannerMessage, PlanTask
from greenroom.actors.prompts import PlanOutput, decode_output, plan_messages, plan_schema
from greenroom.bus.events import PlanStep, RequestFailed, TaskPlanned
from greenroom.models.backend import GenerationRequest


def _distinct(steps: list[PlanStep]) -> list[PlanStep]:
    """Drop empty and repeated steps: small models often repeat one step to the item limit."""
    seen: set[str] = set()
    out = []
    for step in steps:
        key = " ".join(step.intent.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(PlanStep(intent=step.intent.strip(), tools=list(dict.fromkeys(step.tools))))
    return out


class PlannerActor(GreenroomActor):
    name = "planner"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps

    def handle(self, message: PlannerMessage) -> Any:
        match message:
            case PlanTask():
                self.plan(message)
            case _:
                assert_never(message)

    def plan(self, message: PlanTask) -> None:
        """Ask the model for a plan; publish ``task.planned`` (or ``request.failed`` saying why)."""
        deps = self.deps
        assert deps.handles is not None
        request = GenerationRequest(
            messages=plan_messages(message.goal, deps.tools, message.feedback),
            purpose="plan" if message.revision == 0 else f"replan:{message.revision}",
            schema=plan_schema(deps.tools, deps.agent.max_steps),
            max_tokens=deps.llm.max_tokens,
            temperature=deps.llm.temperature,
            top_p=deps.llm.top_p,
        )
        generate = GenerateNow(task_id=message.task_id, key=message.key, request=request, causation=message.causation)
        try:
            finished = deps.handles.llm.ask(generate)
            out = decode_output(finished.event.text, PlanOutput, "plan")  # type: ignore[union-attr]
            steps = _distinct(out.steps)[: deps.agent.max_steps]
            if not steps:
                raise CallFailed("bad_model_output", "the model's plan has no steps")
        except Interrupted:
            return  # the task was cancelled or parked meanwhile
        except CallFailed as exc:
            publish_failure(deps, message.task_id, message.key, exc, message.causation)
            return
        deps.bus.publish(
            TaskPlanned(revision=message.revision, steps=steps, reason=message.feedback[:500]),
            source=self.name,
            task_id=message.task_id,
            causation_id=finished.seq,
            correlation_id=message.task_id,
        )


def publish_failure(deps: ActorDeps, task_id: str | None, key: str, exc: CallFailed, causation: int | None) -> None:
    """An expected failure of something the loop asked for, as the ``request.failed`` event it acts on."""
    deps.bus.publish(
        RequestFailed(request=key, code=exc.code, error=str(exc)),
        source="agent",
        task_id=task_id,
        causation_id=causation,
        correlation_id=task_id,
    )
