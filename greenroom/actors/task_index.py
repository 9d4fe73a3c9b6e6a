"""Task state, derived from the journal and kept current on every commit."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import msgspec

from greenroom.bus.bus import Record
from greenroom.bus.codec import read_envelopes
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import (
    ConfirmationAnswered,
    ConfirmationAsked,
    CriticVerdict,
    StepFinished,
    StepStarted,
    TaskCancelled,
    TaskFailed,
    TaskFinished,
    TaskParked,
    TaskPlanned,
    TaskStarted,
    TaskSubmitted,
)
from greenroom.bus.journal import Journal
from greenroom.bus.masking import map_strings
from greenroom.bus.protocol import TERMINAL_STATUSES, PendingConfirmation, TaskView

_TASK_CLASSES = (
    TaskSubmitted,
    TaskStarted,
    TaskPlanned,
    StepStarted,
    StepFinished,
    TaskParked,
    TaskFinished,
    TaskFailed,
    TaskCancelled,
    ConfirmationAsked,
    ConfirmationAnswered,
    CriticVerdict,
)


TASK_EVENT_TYPES: tuple[str, ...] = tuple(c.__struct_config__.tag for c in _TASK_CLASSES)  # type: ignore[misc]
_TYPES = frozenset(TASK_EVENT_TYPES)


class TaskIndex:
    """Every task's ``TaskView``, folded from its lifecycle events.

    Built from the journal at start-up, then updated synchronously by the bus
    writer after each commit (``bus.add_listener(index.apply, types=TaskIndex.TYPES)``);
    requests wait for it (``settled_head``), so what they read never lags what
    clients can have seen.
    """

    TYPES = _TYPES
    """The event types it folds (``bus.add_listener(index.apply, types=TaskIndex.TYPES)``)."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskView] = {}
        self._confirmations: dict[str, str] = {}  # confirmation id -> task id
        self._retrying: set[str] = set()  # tasks re-running a step the critic sent back once
        self._lock = threading.Lock()

    def load(self, journal: Journal) -> None:
        """Fold every task lifecycle event already in ``journal``."""
        start = 1
        while True:
            envs = read_envelopes(journal, start, types=TASK_EVENT_TYPES, limit=5000)
            if not envs:
                return
            self._apply_envelopes(envs)  # a corrupt row's placeholder is no task event: skipped
            start = envs[-1].seq + 1

    def apply(self, records: list[Record]) -> None:
        """Bus listener: fold newly committed records."""
        # On the commit path for every event: a set lookup of the record's type, the lock only if one matches.
        envs = [r.envelope for r in records if r.type in _TYPES]
        if envs:
            self._apply_envelopes(envs)

    def _apply_envelopes(self, envs: Iterable[Envelope]) -> None:
        with self._lock:
            for env in envs:
                self._apply(env)

    def _apply(self, env: Envelope) -> None:
        ev = env.event
        if isinstance(ev, TaskSubmitted):
            assert env.task_id is not None
            self._tasks[env.task_id] = TaskView(
                task_id=env.task_id,
                goal=ev.goal,
                submitted_seq=env.seq,
                last_seq=env.seq,
                created=env.ts,
                updated=env.ts,
                run_at=ev.run_at,
                reminder=ev.reminder,
            )
            return
        view = self._tasks.get(env.task_id or "")
        if view is None:
            return
        view.last_seq = env.seq
        view.updated = env.ts
        match ev:
            case TaskStarted():
                view.status = "waiting" if view.confirmations else "running"
            case TaskPlanned(steps=steps, revision=revision):
                # A replan replaces the steps not done yet: done so far plus the new plan.
                view.steps_total = view.steps_done + len(steps)
                view.replans = max(view.replans, revision)
            case StepStarted():
                pass
            case StepFinished():
                view.steps_done += 1
            case CriticVerdict(verdict=verdict):
                # The agent loop honours one retry per step: the result is dropped and the same
                # plan step runs again, so it does not count as a step done (a second retry does not).
                honoured = verdict == "retry" and view.task_id not in self._retrying
                if honoured:
                    view.steps_done = max(0, view.steps_done - 1)
                    self._retrying.add(view.task_id)
                else:
                    self._retrying.discard(view.task_id)
            case TaskParked():
                view.status = "parked"
            case ConfirmationAsked():
                view.confirmations = [
                    *view.confirmations,
                    PendingConfirmation(
                        confirmation_id=ev.confirmation_id,
                        question=ev.question,
                        kind=ev.kind,
                        tool=ev.tool,
                        args=ev.args,
                        seq=env.seq,
                        resolved=ev.resolved,
                        call_id=ev.call_id,
                    ),
                ]
                self._confirmations[ev.confirmation_id] = view.task_id
                view.status = "waiting"
            case ConfirmationAnswered():
                view.confirmations = [c for c in view.confirmations if c.confirmation_id != ev.confirmation_id]
                self._confirmations.pop(ev.confirmation_id, None)
                if view.status == "waiting" and not view.confirmations:
                    view.status = "running"
            case TaskFinished(answer=answer):
                view.status, view.answer = "finished", answer
            case TaskFailed(error=error):
                view.status, view.error = "failed", error
            case TaskCancelled(reason=reason):
                view.status, view.error = "cancelled", reason
            case _:
                pass
        if view.status in TERMINAL_STATUSES:
            self._retrying.discard(view.task_id)
            for c in view.confirmations:
                self._confirmations.pop(c.confirmation_id, None)
            view.confirmations = []

    def clear(self) -> None:
        """Forget every task (the journal was reset)."""
        with self._lock:
            self._tasks.clear()
            self._confirmations.clear()

    def rewrite(self, fn: Callable[[str], str]) -> None:
        """Apply ``fn`` to every string of every view (a forget scrubs the text out of memory here too)."""
        with self._lock:
            for task_id, view in list(self._tasks.items()):
                self._tasks[task_id] = map_strings(view, fn)

    def get(self, task_id: str) -> TaskView | None:
        with self._lock:
            view = self._tasks.get(task_id)
            return None if view is None else _copy(view)

    def task_of_confirmation(self, confirmation_id: str) -> TaskView | None:
        with self._lock:
            task_id = self._confirmations.get(confirmation_id)
            return None if task_id is None else _copy(self._tasks[task_id])

    def all(self) -> list[TaskView]:
        with self._lock:
            return [_copy(v) for v in self._tasks.values()]

    def open_tasks(self) -> list[TaskView]:
        """Tasks with no terminal event yet, oldest first."""
        return [v for v in self.all() if v.status not in TERMINAL_STATUSES]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.all():
            out[v.status] = out.get(v.status, 0) + 1
        return out


def _copy(view: TaskView) -> TaskView:
    return msgspec.structs.replace(view)
