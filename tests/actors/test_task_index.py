"""The task index's step counts, folded from event lists (retries and replans included)."""

from __future__ import annotations

from greenroom.actors.task_index import TaskIndex
from greenroom.bus import events as e
from greenroom.bus.envelope import Envelope


def fold(*events: e.Event) -> TaskIndex:
    index = TaskIndex()
    envs = [e.TaskSubmitted(goal="g"), e.TaskStarted(), *events]
    index._apply_envelopes(
        Envelope(seq=i, ts=float(i), source="test", event=ev, task_id="t-1") for i, ev in enumerate(envs, start=1)
    )
    return index


def plan(revision: int, n: int) -> e.TaskPlanned:
    return e.TaskPlanned(revision=revision, steps=[e.PlanStep(intent=f"s{i}") for i in range(n)])


def step(n: int) -> tuple[e.StepStarted, e.StepFinished]:
    return e.StepStarted(step=n, intent="x"), e.StepFinished(step=n, result="r")


class TestStepCounts:
    def test_one_step_task_counts_one_of_one(self) -> None:
        """A one-step plan shows 0/1 while the step runs and 1/1 once it and the task are done."""
        running = fold(plan(0, 1), step(1)[0])
        view = running.get("t-1")
        assert view is not None
        assert (view.steps_done, view.steps_total) == (0, 1)
        done = fold(plan(0, 1), *step(1), e.CriticVerdict(step=1, verdict="accept"), e.TaskFinished(answer="a"))
        view = done.get("t-1")
        assert view is not None
        assert (view.steps_done, view.steps_total, view.replans) == (1, 1, 0)

    def test_a_retried_step_counts_once(self) -> None:
        """A step the critic sends back once runs again without counting twice."""
        index = fold(
            plan(0, 1),
            *step(1),
            e.CriticVerdict(step=1, verdict="retry"),
            *step(2),
            e.CriticVerdict(step=2, verdict="retry"),  # a second retry is not honoured: the loop moves on
            e.TaskFinished(answer="a"),
        )
        view = index.get("t-1")
        assert view is not None
        assert (view.steps_done, view.steps_total) == (1, 1)

    def test_a_replan_adds_its_steps_and_says_so(self) -> None:
        """A replan after step 1 replaces the rest: the new steps count, and the view says it was replanned."""
        index = fold(
            plan(0, 2), *step(1), e.CriticVerdict(step=1, verdict="replan"), plan(1, 1), *step(2),
            e.TaskFinished(answer="a"),
        )  # fmt: skip
        view = index.get("t-1")
        assert view is not None
        assert (view.steps_done, view.steps_total, view.replans) == (2, 2, 1)
