"""Recurring schedules: when slots are due (cron or interval, in a time zone), the
schedule index folded from the journal, pure due/catch-up decisions, the one
timer, and ``Recurring``, which the Scheduler actor drives."""

from __future__ import annotations

from greenroom.schedules.errors import BadSchedule, ScheduleError, UnknownSchedule
from greenroom.schedules.index import SCHEDULE_EVENT_TYPES, ScheduleIndex
from greenroom.schedules.plan import DEFAULT_GRACE_S, Decision, Fire, Pause, Skip, due, next_wakeup, recurrence
from greenroom.schedules.runner import Recurring, fire
from greenroom.schedules.settings import ScheduleConfig
from greenroom.schedules.slots import Recurrence, check_cron, parse_duration, wall_to_instant, zone
from greenroom.schedules.timer import WakeTimer

__all__ = [
    "DEFAULT_GRACE_S",
    "SCHEDULE_EVENT_TYPES",
    "BadSchedule",
    "Decision",
    "Fire",
    "Pause",
    "Recurrence",
    "Recurring",
    "ScheduleConfig",
    "ScheduleError",
    "ScheduleIndex",
    "Skip",
    "UnknownSchedule",
    "WakeTimer",
    "check_cron",
    "due",
    "fire",
    "next_wakeup",
    "parse_duration",
    "recurrence",
    "wall_to_instant",
    "zone",
]
