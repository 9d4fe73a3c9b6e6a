"""What is due now: pure decisions over schedule views and the time.

``due(views, now)`` says, for each active schedule, what its slots since its
cursor call for:

- a slot at most ``grace_s`` old is *on time* and fires;
- older slots were *missed* (the daemon was down, the laptop asleep): catch-up
  ``skip`` records them (``schedule.missed``) and runs none; ``once`` runs one
  task for all of them (and an on-time slot with them), listing the slots;
- a schedule whose runs failed ``max_failures`` times in a row is paused.

``next_wakeup(views, now)`` is when the one timer should wake next.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from greenroom.bus.protocol import ScheduleView
from greenroom.schedules.errors import BadSchedule
from greenroom.schedules.slots import Recurrence

DEFAULT_GRACE_S = 60.0


@dataclass(frozen=True)
class Fire:
    """Start one run of ``schedule_id`` for ``slot``."""

    schedule_id: str
    goal: str
    slot: int
    missed: list[int] = field(default_factory=list)
    """With catch-up ``once``: every slot this run stands for (the latest 100)."""


@dataclass(frozen=True)
class Skip:
    """Record slots that passed without a run (catch-up ``skip``)."""

    schedule_id: str
    slots: list[int]
    count: int


@dataclass(frozen=True)
class Pause:
    """Pause a schedule whose runs keep failing."""

    schedule_id: str
    reason: str
    failures: int


Decision = Fire | Skip | Pause


def recurrence(view: ScheduleView) -> Recurrence:
    """The slots of ``view`` (raises BadSchedule for a view no longer valid, e.g. a zone gone from tzdata)."""
    return Recurrence(cron=view.cron, every_s=view.every_s, tz=view.tz, start=view.start)


def due(views: list[ScheduleView], now: float, grace_s: float = DEFAULT_GRACE_S) -> list[Decision]:
    """What to do now for each active schedule (see the module docstring)."""
    out: list[Decision] = []
    for view in views:
        if view.status != "active":
            continue
        if view.max_failures > 0 and view.failures >= view.max_failures:
            reason = f"paused after {view.failures} consecutive failed runs"
            out.append(Pause(view.schedule_id, reason, view.failures))
            continue
        try:
            slots, count = recurrence(view).between(view.cursor, now)
        except BadSchedule as exc:
            out.append(Pause(view.schedule_id, f"paused: {exc}", 0))
            continue
        if slots:
            out.extend(_decide(view, slots, count, now, grace_s))
    return out


def _decide(view: ScheduleView, slots: list[int], count: int, now: float, grace_s: float) -> list[Decision]:
    latest = slots[-1]
    on_time = now - latest <= grace_s
    if on_time and count == 1:
        return [Fire(view.schedule_id, view.goal, latest)]
    if view.catch_up == "once":
        return [Fire(view.schedule_id, view.goal, latest, list(slots))]
    if on_time:
        return [Skip(view.schedule_id, slots[:-1], count - 1), Fire(view.schedule_id, view.goal, latest)]
    return [Skip(view.schedule_id, slots, count)]


def next_wakeup(views: list[ScheduleView], now: float) -> float | None:
    """The earliest next slot of any active schedule after ``now`` (None: nothing to wait for)."""
    best: float | None = None
    for view in views:
        if view.status != "active":
            continue
        try:
            slot = recurrence(view).next_after(max(view.cursor, now))
        except BadSchedule:
            continue
        if slot is not None and (best is None or slot < best):
            best = float(slot)
    return best
