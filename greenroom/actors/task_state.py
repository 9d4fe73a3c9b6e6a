"""A task's state: a pure fold of its journaled events (``evolve``).

The state indexes what has happened (plans, steps, model outputs, tool calls
and their decisions, questions and answers, verdicts); ``decide`` walks the
agent loop over it to find what happens next. Resuming after a crash is
folding the same events again. Each ``task.started`` begins a new incarnation
of the task: a tool call invoked in an earlier one and never finished was in
flight when the daemon stopped, and ``decide`` treats it so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from greenroom.bus.envelope import Envelope
from greenroom.bus.events import (
    ConfirmationAnswered,
    ConfirmationAsked,
    CriticVerdict,
    GuardFlagged,
    LlmChunk,
    LlmFinished,
    MemoryStored,
    ModelLoaded,
    ModelUnloaded,
    PlanStep,
    RequestFailed,
    StepCapReached,
    StepFinished,
    StepStarted,
    TaskCancelled,
    TaskFailed,
    TaskFinished,
    TaskParked,
    TaskPlanned,
    TaskStarted,
    TaskSubmitted,
    ToolDecided,
    ToolInvoked,
    ToolRequested,
    ToolResult,
)


@dataclass(frozen=True)
class Asked:
    """A question put to the person, and its answer once there is one."""

    question: ConfirmationAsked
    asked_at: float
    answer: ConfirmationAnswered | None = None


@dataclass(frozen=True)
class TaskState:
    """Everything ``decide`` needs about one task, as of ``last_seq``."""

    task_id: str
    goal: str = ""
    reminder: bool = False
    """A reminder: it says its goal and does nothing else."""
    last_seq: int | None = None
    incarnation: int = 0
    """How many times the task has been started (1 + resumes)."""
    ended: str = ""
    """``finished``, ``failed``, ``cancelled`` once a terminal event is in; ``parked`` while parked."""
    plans: dict[int, tuple[PlanStep, ...]] = field(default_factory=dict)
    answers: dict[int, str] = field(default_factory=dict)
    """Plan revisions that were a direct answer instead of steps."""
    steps_started: frozenset[int] = frozenset()
    steps_finished: dict[int, StepFinished] = field(default_factory=dict)
    verdicts: dict[int, CriticVerdict] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    """Model output by purpose (``step:1:round:2``, ``answer``, ...): the first one counts."""
    requests: dict[tuple[int, int], tuple[ToolRequested, ...]] = field(default_factory=dict)
    decided: dict[str, ToolDecided] = field(default_factory=dict)
    invoked: dict[str, int] = field(default_factory=dict)
    """Call id -> the incarnation it was invoked in."""
    results: dict[str, ToolResult] = field(default_factory=dict)
    asked: dict[str, Asked] = field(default_factory=dict)
    caps: frozenset[tuple[int, int]] = frozenset()
    flagged: bool = False
    failure: RequestFailed | None = None

    @property
    def in_flight_before_restart(self) -> frozenset[str]:
        """Calls invoked in an earlier incarnation that never reported a result."""
        return frozenset(c for c, inc in self.invoked.items() if inc < self.incarnation and c not in self.results)


def _with(mapping: dict, key: object, value: object) -> dict:  # type: ignore[type-arg]
    return {**mapping, key: value}


def evolve(state: TaskState, env: Envelope) -> TaskState:
    """``state`` after ``env`` (pure: the argument is not changed). Events of other tasks are ignored."""
    if env.task_id != state.task_id:
        return state
    s = dataclasses.replace(state, last_seq=env.seq)
    match env.event:
        case TaskSubmitted(goal=goal, reminder=reminder):
            return dataclasses.replace(s, goal=goal, reminder=reminder)
        case TaskStarted():
            return dataclasses.replace(s, incarnation=s.incarnation + 1, ended="")
        case TaskPlanned(revision=r, steps=steps, answer=answer) if r not in s.plans:
            answers = _with(s.answers, r, answer) if answer else s.answers
            return dataclasses.replace(s, plans=_with(s.plans, r, tuple(steps)), answers=answers)
        case StepStarted(step=n):
            return dataclasses.replace(s, steps_started=s.steps_started | {n})
        case StepFinished(step=n) if n not in s.steps_finished:
            return dataclasses.replace(s, steps_finished=_with(s.steps_finished, n, env.event))
        case CriticVerdict(step=n) if n not in s.verdicts:
            return dataclasses.replace(s, verdicts=_with(s.verdicts, n, env.event))
        case LlmFinished(purpose=purpose, text=text) if purpose not in s.outputs:
            return dataclasses.replace(s, outputs=_with(s.outputs, purpose, text))
        case ToolRequested(step=n, round=r, call_id=c):
            have = s.requests.get((n, r), ())
            if any(x.call_id == c for x in have):
                return s
            return dataclasses.replace(s, requests=_with(s.requests, (n, r), (*have, env.event)))
        case ToolDecided(call_id=c) if c not in s.decided:
            return dataclasses.replace(s, decided=_with(s.decided, c, env.event))
        case ToolInvoked(call_id=c):
            return dataclasses.replace(s, invoked=_with(s.invoked, c, s.incarnation))
        case ToolResult(call_id=c) if c not in s.results:
            return dataclasses.replace(s, results=_with(s.results, c, env.event))
        case ConfirmationAsked(confirmation_id=c) if c not in s.asked:
            return dataclasses.replace(s, asked=_with(s.asked, c, Asked(env.event, env.ts)))
        case ConfirmationAnswered(confirmation_id=c) if c in s.asked and s.asked[c].answer is None:
            done = dataclasses.replace(s.asked[c], answer=env.event)
            return dataclasses.replace(s, asked=_with(s.asked, c, done))
        case StepCapReached(step=n, rounds=r):
            return dataclasses.replace(s, caps=s.caps | {(n, r)})
        case GuardFlagged():
            return dataclasses.replace(s, flagged=True)
        case RequestFailed() if s.failure is None:
            return dataclasses.replace(s, failure=env.event)
        case TaskFinished():
            return dataclasses.replace(s, ended="finished")
        case TaskFailed():
            return dataclasses.replace(s, ended="failed")
        case TaskCancelled():
            return dataclasses.replace(s, ended="cancelled")
        case TaskParked():
            return dataclasses.replace(s, ended="parked")
        case _:
            return s


def fold(task_id: str, envs: Iterable[Envelope]) -> TaskState:
    """The state of ``task_id`` after ``envs`` (its history, in seq order)."""
    state = TaskState(task_id=task_id)
    for env in envs:
        state = evolve(state, env)
    return state


def changes_state(env: Envelope) -> bool:
    """Whether ``env`` can change a task's state (token chunks and the like cannot)."""
    return not isinstance(env.event, _INERT)


_INERT = (LlmChunk, MemoryStored, ModelLoaded, ModelUnloaded)
