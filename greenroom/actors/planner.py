"""The Planner: turns a goal into a plan of steps, published as ``task.planned``."""

from __future__ import annotations

from typing import Any

import structlog
from typing_extensions import assert_never

from greenroom.actors import grounding
from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor, Interrupted
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import GenerateNow, PlannerMessage, PlanTask
from greenroom.actors.prompts import plan_messages, route_messages
from greenroom.actors.schemas import (
    RouteOutput,
    answer_schema,
    decode_output,
    route_schema,
    route_steps,
    steps_schema,
)
from greenroom.bus.events import LlmFinished, PlanStep, RequestFailed, TaskPlanned
from greenroom.models.backend import GenerationRequest
from greenroom.tools.reminders import reminder_without_time
from greenroom.tools.routing import Match
from greenroom.tools.routing_shapes import asks_about_own_things

log = structlog.get_logger(__name__)

PLAN_TOKENS = 200
"""A direct answer, or a few short steps."""
ANSWER_REPETITION_PENALTY = 1.1
"""Keeps a small model's direct answer to one sentence instead of a loop ("2+2 is 4, 2+2 is 4, ...")."""


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
        """Ask the model; publish ``task.planned`` (steps, or the first call's direct answer) or
        ``request.failed`` saying why.

        The first call (revision 0, with ``agent.route``) may answer the goal at once when no
        tool is needed; a replan (or revision 0 without routing) always gives steps.
        """
        deps = self.deps
        assert deps.handles is not None
        task_id = message.task_id or ""
        goal = grounding.asked(deps, task_id, message.goal)  # a follow-up ("And of Germany?") made whole
        with grounding.embeddings_first_use(deps, task_id, message.causation):
            matched = self._match(goal) if message.revision == 0 else None
            # Steps with matched tools get fresh results from them: earlier tasks' answers would be stale.
            stale = matched is not None and any(m.tool for m in matched)
            try:  # memories, images, a summary of older turns: searched and journaled once (actors/grounding.py)
                grounding.prepare(deps, task_id, message.goal, message.causation, skip_answers=stale)
            except Interrupted:
                return
        if matched and (when_missing := reminder_without_time(goal)):
            self._publish_answer(message, when_missing, "a reminder without a time")
            return
        if matched:
            self._publish_matched(message, matched)
            return
        context = grounding.task_context(deps, task_id, message.goal).plus(message.context)
        answer_only = matched == []  # the matching found that no tool is needed
        if answer_only and not context.turns and not context.text and asks_about_own_things(goal):
            why = "a question about the person's own things; nothing in memory or the conversation"
            self._publish_answer(message, grounding.NOTHING_KNOWN, why)
            return
        route = message.revision == 0 and (deps.agent.route or answer_only)
        names = deps.tools.names()
        if answer_only:
            schema = answer_schema()
        else:
            schema = route_schema(names, deps.agent.max_steps) if route else steps_schema(names, deps.agent.max_steps)
        request = GenerationRequest(
            messages=(
                route_messages(goal, deps.tools, context, answer_only=answer_only)
                if route
                else plan_messages(goal, deps.tools, message.feedback, context)
            ),
            purpose="plan" if message.revision == 0 else f"replan:{message.revision}",
            schema=schema,
            max_tokens=min(deps.llm.max_tokens, PLAN_TOKENS),
            temperature=deps.llm.temperature,
            top_p=deps.llm.top_p,
            repetition_penalty=ANSWER_REPETITION_PENALTY if route else 1.0,
        )
        generate = GenerateNow(task_id=message.task_id, key=message.key, request=request, causation=message.causation)
        try:
            finished = deps.handles.llm.ask(generate)
            assert isinstance(finished.event, LlmFinished)
            out = _decode_route(finished.event, route)
            steps = _distinct(route_steps(out, set(names)))[: deps.agent.max_steps]
            answer = out.answer.strip() if route and not steps else ""
            if not steps and not answer:
                raise CallFailed("bad_model_output", "the model's plan has no steps")
        except Interrupted:
            return  # the task was cancelled or parked meanwhile
        except CallFailed as exc:
            publish_failure(deps, message.task_id, message.key, exc, message.causation)
            return
        reason = message.feedback or (f"follow-up read as: {goal}" if goal != message.goal else "")
        deps.bus.publish(
            TaskPlanned(revision=message.revision, steps=steps, reason=reason[:500], answer=answer),
            source=self.name,
            task_id=message.task_id,
            causation_id=finished.seq,
            correlation_id=message.task_id,
        )

    def _match(self, goal: str) -> list[Match] | None:
        """The goal's clauses matched to tools ([] when none needs one); None when matching is off or failed."""
        deps = self.deps
        if not deps.agent.match_tools or deps.router is None:
            return None
        try:
            return deps.router.route(goal, deps.tools)
        except Exception as exc:  # the embedding model cannot load: the model plans instead
            log.warning("tool_matching_failed", error=repr(exc))
            return None

    def _publish_answer(self, message: PlanTask, answer: str, why: str) -> None:
        """A direct answer that needs no model; ``why`` is the plan's reason."""
        self.deps.bus.publish(
            TaskPlanned(revision=0, steps=[], reason=why, answer=answer),
            source=self.name,
            task_id=message.task_id,
            causation_id=message.causation,
            correlation_id=message.task_id,
        )

    def _publish_matched(self, message: PlanTask, matches: list[Match]) -> None:
        """The plan the matching gives: one step per clause, each with its tool (no model call)."""
        deps = self.deps
        steps = [PlanStep(intent=m.clause, tools=[m.tool] if m.tool else []) for m in matches]
        why = "; ".join(f"{m.tool or 'no tool'} for {m.clause!r} ({m.score:.2f})" for m in matches)
        deps.bus.publish(
            TaskPlanned(revision=0, steps=steps[: deps.agent.max_steps], reason=f"matched: {why}"),
            source=self.name,
            task_id=message.task_id,
            causation_id=message.causation,
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


def _decode_route(finished: LlmFinished, route: bool) -> RouteOutput:
    """The plan (or direct answer) the model wrote; a direct answer cut by the token cap is closed.

    Text in scripts that take several tokens a character (Chinese, Japanese) can fill the
    cap before the answer's character limit: the answer is kept as far as it got. Steps
    cut short are not: a cut step could name half a thing to do.
    """
    try:
        return decode_output(finished.text, RouteOutput, "plan")
    except CallFailed:
        if not (route and finished.stop_reason == "length"):
            raise
        out = decode_output(finished.text, RouteOutput, "plan", cut=True)
        if out.steps or not out.answer.strip():
            raise
        return out
