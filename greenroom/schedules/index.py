"""Schedule state, folded from the journal and kept current on every commit.

The journal is the truth: a schedule is its ``schedule.*`` events plus the
``task.submitted`` events that carry its id (a fire *is* the durable
submission) and the end of those tasks. The fold keeps, per schedule, the
*cursor*: slots at or before it were handled (fired, or missed by catch-up),
so a slot can never fire twice — not after a restart, not after a ``kill -9``
between the fire and the task's start (the fire is already in the journal).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import msgspec

from greenroom.bus.bus import Record
from greenroom.bus.codec import read_envelopes
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import (
    ScheduleAdded,
    ScheduleMissed,
    SchedulePaused,
    ScheduleRemoved,
    ScheduleResumed,
    TaskCancelled,
    TaskFailed,
    TaskFinished,
    TaskStarted,
    TaskSubmitted,
)
from greenroom.bus.journal import Journal
from greenroom.bus.protocol import ScheduleRun, ScheduleView

_CLASSES = (
    ScheduleAdded,
    SchedulePaused,
    ScheduleResumed,
    ScheduleRemoved,
    ScheduleMissed,
    TaskSubmitted,
    TaskStarted,
    TaskFinished,
    TaskFailed,
    TaskCancelled,
)
SCHEDULE_EVENT_TYPES: tuple[str, ...] = tuple(c.__struct_config__.tag for c in _CLASSES)  # type: ignore[misc]
_TYPES = frozenset(SCHEDULE_EVENT_TYPES)
_RECENT_RUNS = 10


class ScheduleIndex:
    """Every schedule's ``ScheduleView``.

    Built from the journal at start-up (``load``), then updated synchronously by
    the bus writer after each commit (``bus.add_listener(index.apply, types=ScheduleIndex.TYPES)``), so a
    fire is in the index before its durable publish returns.
    """

    TYPES = _TYPES
    """The event types it folds (the ``types`` of its bus listener)."""

    def __init__(self) -> None:
        self._views: dict[str, ScheduleView] = {}
        self._task_schedule: dict[str, str] = {}  # task id -> schedule id, for runs still open
        self._lock = threading.Lock()

    def load(self, journal: Journal) -> None:
        """Fold every schedule-related event already in ``journal``."""
        start = 1
        while envs := read_envelopes(journal, start, types=SCHEDULE_EVENT_TYPES, limit=5000):
            self._apply_all(envs)  # a corrupt row's placeholder is no schedule event: skipped
            start = envs[-1].seq + 1

    def clear(self) -> None:
        """Forget every schedule (the journal was reset)."""
        with self._lock:
            self._views.clear()
            self._task_schedule.clear()

    def apply(self, records: list[Record]) -> None:
        """Bus listener: fold newly committed records."""
        # On the commit path for every event: a set lookup of the record's type, the lock only if one matches.
        envs = [r.envelope for r in records if r.type in _TYPES]
        if envs:
            self._apply_all(envs)

    def _apply_all(self, envs: Iterable[Envelope]) -> None:
        with self._lock:
            for env in envs:
                self._apply(env)

    def _apply(self, env: Envelope) -> None:
        ev = env.event
        match ev:
            case ScheduleAdded():
                self._views[ev.schedule_id] = ScheduleView(
                    schedule_id=ev.schedule_id, goal=ev.goal, cron=ev.cron, every_s=ev.every_s, tz=ev.tz,
                    catch_up=ev.catch_up, start=ev.start, max_failures=ev.max_failures, created=ev.at, cursor=ev.at,
                )  # fmt: skip
            case SchedulePaused(schedule_id=sid) if (view := self._views.get(sid)) and view.status == "active":
                view.status, view.reason = "paused", ev.reason
            case ScheduleResumed(schedule_id=sid) if (view := self._views.get(sid)) and view.status == "paused":
                view.status, view.reason, view.failures = "active", "", 0
                view.cursor = max(view.cursor, ev.at)
            case ScheduleRemoved(schedule_id=sid) if (view := self._views.get(sid)) is not None:
                view.status = "removed"
            case ScheduleMissed(schedule_id=sid) if (view := self._views.get(sid)) is not None and ev.slots:
                view.cursor = max(view.cursor, float(max(ev.slots)))
                view.missed += ev.count
            case TaskSubmitted(schedule_id=sid) if sid and (view := self._views.get(sid)) is not None:
                self._fired(view, env.task_id or "", ev)
            case TaskStarted():
                self._started(env.task_id or "")
            case TaskFinished() | TaskFailed() | TaskCancelled():
                self._ended(env.task_id or "", ev)
            case _:
                pass

    def _fired(self, view: ScheduleView, task_id: str, ev: TaskSubmitted) -> None:
        if ev.slot is not None:
            view.cursor = max(view.cursor, float(ev.slot))
            view.fires += 1
        if len(ev.missed) > 1:
            view.missed += len(ev.missed) - 1
        view.runs = [*view.runs, ScheduleRun(task_id=task_id, slot=ev.slot, missed=len(ev.missed))][-_RECENT_RUNS:]
        self._task_schedule[task_id] = view.schedule_id

    def _started(self, task_id: str) -> None:
        view = self._views.get(self._task_schedule.get(task_id, ""))
        for run in view.runs if view is not None else []:
            if run.task_id == task_id:
                run.status = "running"

    def _ended(self, task_id: str, ev: TaskFinished | TaskFailed | TaskCancelled) -> None:
        sid = self._task_schedule.pop(task_id, None)
        view = self._views.get(sid or "")
        if view is None:
            return
        match ev:
            case TaskFinished():
                view.failures, status = 0, "finished"
            case TaskFailed():
                view.failures, status = view.failures + 1, "failed"
            case TaskCancelled():
                status = "cancelled"
        for run in view.runs:
            if run.task_id == task_id:
                run.status = status  # type: ignore[assignment]

    # -- reading ---------------------------------------------------------------------------

    def get(self, schedule_id: str) -> ScheduleView | None:
        with self._lock:
            view = self._views.get(schedule_id)
            return None if view is None else _copy(view)

    def all(self) -> list[ScheduleView]:
        with self._lock:
            return [_copy(v) for v in self._views.values()]

    def active(self) -> list[ScheduleView]:
        return [v for v in self.all() if v.status == "active"]

    def schedule_of(self, task_id: str) -> str | None:
        """The schedule whose still-open run ``task_id`` is."""
        with self._lock:
            return self._task_schedule.get(task_id)


def _copy(view: ScheduleView) -> ScheduleView:
    return msgspec.structs.replace(view, runs=[msgspec.structs.replace(r) for r in view.runs])
