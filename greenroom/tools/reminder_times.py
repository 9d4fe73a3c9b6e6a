"""When a reminder is for: a time said in words ("in 10 minutes", "at 5pm", "tomorrow at
9am", "at 8", "on Friday") read as the moment a person means, after now.

``dateparser`` (a maintained parser of dates and times in words; loaded at the first
reminder) does the reading, with three rules of ours around it where it reads what
people say otherwise:

- a time must name one: a clock time, a unit ("in 10 minutes"), a part of the day
  or a day. dateparser reads a bare number as a month ("in 5", "at 8" -> May,
  August) and "the 5th" as May: such times are refused, except "at 8" (below);
- "at 8" is the next 8 o'clock: 20:00 when said at 10:00, 08:00 tomorrow when said
  at 21:00. A clock time already past today (with no day said) is the next one;
- a day without a clock time ("tomorrow", "on Friday") is at 09:00 of that day
  (dateparser gives midnight, or the time it is now).
"""

from __future__ import annotations

import functools
import re
import threading
from datetime import datetime, timedelta
from typing import Any

_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}\b|\b\d{1,2}\s*(?:am|pm|a\.m\.|p\.m\.)|\b(?:noon|midnight)\b", re.IGNORECASE)
_HALF_DAY = re.compile(r"\b\d{1,2}\s*(?:am|pm|a\.m\.|p\.m\.)", re.IGNORECASE)
_PART_OF_DAY = re.compile(r"\b(?:morning|afternoon|evening|tonight)\b", re.IGNORECASE)
_UNIT = re.compile(r"\b(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\b", re.IGNORECASE)
_DAY = re.compile(
    r"\b(?:today|tomorrow|weekend|(?:mon|tues|wednes|thurs|fri|satur|sun)day|jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?"
    r"|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
    r"|\b\d{4}-\d{2}-\d{2}",
    re.IGNORECASE,
)
_BARE_HOUR = re.compile(r"\bat\s+(\d{1,2})(?:\s*o'?clock)?\b(?!\s*(?::|\.\d|am|pm|a\.m|p\.m))", re.IGNORECASE)
MORNING = 9
"""The hour of a reminder for a day said without a clock time."""

_LOCK = threading.Lock()
"""dateparser is not safe to call from several threads at once (scrapinghub/dateparser#441)."""


def time_at(when: str, now: datetime) -> datetime | None:
    """The moment ``when`` names, after ``now`` where it says no day; None if it names none."""
    said = when.strip()
    hour = _BARE_HOUR.search(said)
    if hour is None and not names_time(said):
        return None  # a bare number ("in 5", "the 5th"): dateparser would read a month
    if hour is not None:
        if not 0 <= int(hour.group(1)) <= 23:
            return None
        said = _BARE_HOUR.sub(lambda m: f"at {int(m.group(1))}:00", said)
    parsed = _parse(said, now)
    if parsed is None:
        return None
    if not (_CLOCK.search(said) or _UNIT.search(said) or _PART_OF_DAY.search(said)):
        parsed = parsed.replace(hour=MORNING, minute=0, second=0, microsecond=0)  # a day: its morning
    if _DAY.search(said):
        return parsed
    if hour is not None and not _HALF_DAY.search(said):
        h, part = int(hour.group(1)), _PART_OF_DAY.search(said)
        if part is None:
            return _next_hour(h, now, either_half=True)  # "at 8": whichever 8 o'clock comes first
        later = part.group(0).lower() != "morning" and 1 <= h < 12  # "at 7 tonight" is 19:00
        return _next_hour(h + 12 if later else h, now, either_half=False)
    while parsed <= now:  # a clock time already past today: the next one
        parsed += timedelta(days=1)
    return parsed


def _next_hour(hour: int, now: datetime, *, either_half: bool) -> datetime:
    """The first ``hour`` o'clock after ``now`` (with ``either_half``, 1-11 may be morning or evening)."""
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    evening = today + timedelta(hours=12) if either_half and 1 <= hour < 12 else today
    return next(c for c in (today, evening, today + timedelta(days=1)) if c > now)


def names_time(text: str) -> bool:
    """``text`` holds a word of time (a clock time, a unit, a day, a part of the day)."""
    return any(p.search(text) for p in (_CLOCK, _UNIT, _DAY, _PART_OF_DAY))


def _parse(said: str, now: datetime) -> datetime | None:
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": now, "RETURN_AS_TIMEZONE_AWARE": False}
    try:
        with _LOCK:
            parsed = _parser()(said, languages=["en"], settings=settings)
        return parsed if isinstance(parsed, datetime) else None
    except Exception:  # any text is a reminder's: whatever dateparser raises on it means "not a time"
        return None


@functools.cache
def _parser() -> Any:
    import dateparser  # ~0.07 s, and ~0.1 s for its first parse: only once a reminder is asked for

    return dateparser.parse


__all__ = ["MORNING", "names_time", "time_at"]
