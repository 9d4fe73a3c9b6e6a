"""What can go wrong with schedules."""

from __future__ import annotations


class ScheduleError(Exception):
    """Base class for schedule errors."""


class BadSchedule(ScheduleError):
    """A cron expression, interval, time zone or option is not usable (the message says which)."""


class UnknownSchedule(ScheduleError):
    """No schedule has that id (or it was removed)."""
