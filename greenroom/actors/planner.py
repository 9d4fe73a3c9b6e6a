"""The Planner: turns a goal into a plan of steps."""

from __future__ import annotations

import threading

from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.actors.prompts import PlanOutput, decode_output, plan_messages, plan_schema
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import PlanStep, TaskPlanned
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

    def plan(
        self,
        task_id: str,
        goal: str,
        revision: int,
        feedback: str,
        *,
        stop: threading.Event,
        causation: int | None,
    ) -> Envelope:
        """Ask the model for a plan and publish it as ``task.planned``."""
        deps = self.deps
        assert deps.handles is not None
        cfg = deps.llm
        request = GenerationRequest(
            messages=plan_messages(goal, deps.tools, feedback),
            purpose="plan" if revision == 0 else f"replan:{revision}",
            schema=plan_schema(deps.tools, deps.agent.max_steps),
            max_tokens=cfg.max_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
        )
        text, finished = deps.handles.llm.ask("generate", request, task_id=task_id, causation=causation, stop=stop)
        out = decode_output(text, PlanOutput, "plan")
        steps = _distinct(out.steps)[: deps.agent.max_steps]
        if not steps:
            raise CallFailed("bad_model_output", "the model's plan has no steps")
        return deps.bus.publish(
            TaskPlanned(revision=revision, steps=steps, reason=feedback[:500]),
            source=self.name,
            task_id=task_id,
            causation_id=finished.seq,
            correlation_id=task_id,
        )
