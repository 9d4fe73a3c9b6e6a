"""Recurring schedules at work: the Scheduler's narrow interface to them.

The Scheduler owns one ``Recurring``: it calls ``start`` and ``stop`` with its
own lifecycle, ``tick`` when the timer wakes it or when ``relevant`` says an
event may change what is due (a schedule changed, a scheduled run ended).
``tick`` journals what ``plan.due`` decides — a fire is the durable
``task.submitted`` carrying the schedule id and slot, which the Scheduler
then admits like any other submission — and re-arms the one timer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import structlog

from greenroom.bus.bus import Bus
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import (
    ScheduleAdded,
    ScheduleMissed,
    SchedulePaused,
    ScheduleRemoved,
    ScheduleResumed,
    TaskFailed,
    TaskSubmitted,
)
from greenroom.schedules.index import ScheduleIndex
from greenroom.schedules.plan import DEFAULT_GRACE_S, Fire, Pause, Skip, due, next_wakeup
from greenroom.schedules.timer import DEFAULT_MAX_SLEEP_S, WakeTimer

log = structlog.get_logger(__name__)

SOURCE = "scheduler"


def new_task_id() -> str:
    return "t-" + uuid.uuid4().hex[:8]


def fire(bus: Bus, schedule_id: str, goal: str, slot: int | None, missed: list[int] | None = None) -> Envelope:
    """Journal one run of a schedule (durably: it is the at-most-once marker of its slot)."""
    task_id = new_task_id()
    return bus.publish(
        TaskSubmitted(goal=goal, client=f"schedule {schedule_id}", schedule_id=schedule_id, slot=slot,
                      missed=missed or []),
        source=SOURCE, task_id=task_id, correlation_id=task_id, durable=True,
    )  # fmt: skip


class Recurring:
    """Fires due schedules from one timer.

    Args:
        bus: where fires and schedule events are journaled.
        index: the schedule index (a listener of ``bus``).
        clock: the wall clock (injectable for tests).
        wake: called on the timer's thread when a slot is due; it should get ``tick``
            called on the owner's thread (the Scheduler tells itself).
        grace_s: a slot at most this old when seen is on time; older ones were missed.
        max_sleep_s: the timer re-reads the wall clock at least this often.
    """

    def __init__(
        self,
        bus: Bus,
        index: ScheduleIndex,
        clock: Callable[[], float],
        wake: Callable[[], None],
        *,
        grace_s: float = DEFAULT_GRACE_S,
        max_sleep_s: float = DEFAULT_MAX_SLEEP_S,
    ) -> None:
        self.bus = bus
        self.index = index
        self.clock = clock
        self.grace_s = grace_s
        self.timer = WakeTimer(wake, clock, max_sleep_s)

    def start(self) -> None:
        self.timer.start()
        self.tick()

    def stop(self) -> None:
        self.timer.stop()

    def relevant(self, env: Envelope) -> bool:
        """Whether ``env`` can change what is due (so the owner should ``tick``)."""
        match env.event:
            case ScheduleAdded() | SchedulePaused() | ScheduleResumed() | ScheduleRemoved():
                return True
            case TaskFailed():
                return True  # its run may have been the last failure allowed (the index already folded it)
            case _:
                return False

    def tick(self) -> list[str]:
        """Journal what is due now and re-arm the timer; returns the task ids fired."""
        now = self.clock()
        fired: list[str] = []
        for decision in due(self.index.active(), now, self.grace_s):
            match decision:
                case Fire(schedule_id=sid, goal=goal, slot=slot, missed=missed):
                    env = fire(self.bus, sid, goal, slot, missed)
                    fired.append(env.task_id or "")
                    log.info("schedule_fired", schedule_id=sid, slot=slot, missed=len(missed), task_id=env.task_id)
                case Skip(schedule_id=sid, slots=slots, count=count):
                    self.bus.publish(
                        ScheduleMissed(schedule_id=sid, slots=slots, count=count),
                        source=SOURCE, correlation_id=sid, durable=True,
                    )  # fmt: skip
                    log.info("schedule_missed", schedule_id=sid, count=count)
                case Pause(schedule_id=sid, reason=reason, failures=failures):
                    self.bus.publish(
                        SchedulePaused(schedule_id=sid, reason=reason, at=now, failures=failures),
                        source=SOURCE, correlation_id=sid, durable=True,
                    )  # fmt: skip
                    log.warning("schedule_paused", schedule_id=sid, reason=reason)
        self.timer.arm(next_wakeup(self.index.active(), now))
        return fired
