"""Recurring schedules: when slots are due (cron or interval, in a time zone), the
schedule index folded from the journal, pure due/catch-up decisions, the one
timer, and ``Recurring``, which the Scheduler actor drives.

Names load lazily (``greenroom._lazy``): the config reads ``schedules.settings``
without croniter or the bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
    from greenroom.schedules.errors import BadSchedule, ScheduleError, UnknownSchedule
    from greenroom.schedules.index import SCHEDULE_EVENT_TYPES, ScheduleIndex
    from greenroom.schedules.plan import DEFAULT_GRACE_S, Decision, Fire, Pause, Skip, due, next_wakeup, recurrence
    from greenroom.schedules.runner import Recurring, fire
    from greenroom.schedules.settings import ScheduleConfig
    from greenroom.schedules.slots import Recurrence, check_cron, parse_duration, wall_to_instant, zone
    from greenroom.schedules.timer import WakeTimer

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("BadSchedule", "ScheduleError", "UnknownSchedule"), "errors"),
        **dict.fromkeys(("SCHEDULE_EVENT_TYPES", "ScheduleIndex"), "index"),
        **dict.fromkeys(
            ("DEFAULT_GRACE_S", "Decision", "Fire", "Pause", "Skip", "due", "next_wakeup", "recurrence"), "plan"
        ),
        **dict.fromkeys(("Recurring", "fire"), "runner"),
        "ScheduleConfig": "settings",
        **dict.fromkeys(("Recurrence", "check_cron", "parse_duration", "wall_to_instant", "zone"), "slots"),
        "WakeTimer": "timer",
    },
)
