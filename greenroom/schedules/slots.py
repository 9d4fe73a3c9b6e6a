"""When a schedule is due: cron expressions and fixed intervals, in a named time zone.

A *slot* is one moment a schedule is due, as a Unix time in whole seconds.

- **Cron** expressions (five fields, or ``@hourly``-style aliases) are parsed and
  iterated by croniter over *local wall-clock times* of the schedule's IANA time
  zone, without any zone attached; each wall-clock time then becomes an instant
  by one rule: **a slot fires at the first instant at which the zone's clock
  reads that time or later.** So
  - in the hour repeated when clocks go back, 02:30 fires once, at its first
    occurrence (no double run);
  - in the hour skipped when clocks go forward, 02:30 does not exist; it fires at
    the moment the clocks jump (03:00 on that day) — no lost run. Several
    wall-clock slots inside the gap (``*/15``) collapse into that one instant,
    so they fire once.
- **Intervals** (``every_s``) are elapsed time from an anchor: ``start + k *
  every_s``; DST does not touch them (the zone only affects how they are shown).

croniter is imported where a cron expression is read or iterated, not with this
module: the daemon imports it at start, and a daemon without cron schedules
never needs croniter (it cost ~20 ms of the cold start).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from greenroom.schedules.errors import BadSchedule

MIN_INTERVAL_S = 60.0
MAX_INTERVAL_S = 366 * 86400.0
MAX_CRON_CHARS = 200
_ALIASES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_HORIZON_S = 5 * 366 * 86400
"""A cron expression with no slot within five years (``0 0 31 2 *``) is refused."""
_LATEST = 7258118400.0  # 2200-01-01
# A zone's clock never jumps by more than a day; looking this far back finds every slot.
_LOOKBACK = dt.timedelta(hours=26)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``.

    Raises:
        BadSchedule: not a known zone name.
    """
    if not name or len(name) > 64:
        raise BadSchedule(f"time zone {name!r} is not an IANA zone name like Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise BadSchedule(f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)") from exc


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``2h``, ``1d`` → seconds, within the allowed interval range.

    Raises:
        BadSchedule: not a duration, or out of range.
    """
    match = _DURATION.match(text) if len(text) <= 32 else None
    if match is None:
        raise BadSchedule(f"interval {text!r} is not like 90s, 30m, 2h or 1d")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    check_interval(seconds)
    return seconds


def check_interval(seconds: float) -> None:
    """Raises BadSchedule unless ``seconds`` is a usable interval."""
    if not math.isfinite(seconds) or not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise BadSchedule(f"interval must be between {MIN_INTERVAL_S:g}s and {MAX_INTERVAL_S / 86400:g} days")


def check_cron(expr: str) -> str:
    """Validate a five-field cron expression (or an alias); return it normalised.

    Raises:
        BadSchedule: not a valid expression, or it never fires.
    """
    text = " ".join(expr.split())
    if not text or len(text) > MAX_CRON_CHARS:
        raise BadSchedule(f"cron expression {expr!r} is empty or too long")
    if text.lower() not in _ALIASES and len(text.split(" ")) != 5:
        raise BadSchedule(
            f"cron expression {text!r} must have five fields (minute hour day month weekday), e.g. '0 8 * * 1-5'"
        )
    from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

    try:
        it = croniter(text, dt.datetime(2000, 1, 1))
        first = it.get_next(dt.datetime)
    except (CroniterBadCronError, CroniterBadDateError, CroniterError, ValueError, KeyError, IndexError) as exc:
        raise BadSchedule(f"invalid cron expression {text!r}: {exc}") from exc
    if (first - dt.datetime(2000, 1, 1)).total_seconds() > _HORIZON_S:
        raise BadSchedule(f"cron expression {text!r} never fires")
    return text


def wall_to_instant(wall: dt.datetime, tz: ZoneInfo) -> int:
    """The first instant (Unix seconds) at which ``tz``'s clock reads ``wall`` or later.

    ``wall`` is naive local time. Existing times map to their (first) occurrence;
    a time inside a spring-forward gap maps to the moment of the jump.
    """
    first = wall.replace(tzinfo=tz, fold=0)
    t0 = int(first.timestamp())
    if dt.datetime.fromtimestamp(t0, tz).replace(tzinfo=None) == wall:
        return t0
    # In a gap: fold=1 reads it with the offset after the jump (an instant before it),
    # fold=0 with the offset before (an instant after). The jump lies between them.
    lo = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    hi = t0
    lo, hi = min(lo, hi), max(lo, hi)
    while lo < hi:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid + 1
    return hi


@dataclass(frozen=True)
class Recurrence:
    """When a schedule is due: a cron expression or a fixed interval, in a time zone.

    Args:
        cron: five-field cron expression ("" for an interval schedule).
        every_s: the interval in seconds (0 for a cron schedule).
        tz: IANA zone name the cron fields are read in.
        start: the interval's first slot (Unix time): slots are ``start + k * every_s``, k ≥ 0.
    """

    cron: str = ""
    every_s: float = 0.0
    tz: str = "UTC"
    start: float = 0.0

    def __post_init__(self) -> None:
        if bool(self.cron) == bool(self.every_s):
            raise BadSchedule("a schedule needs either a cron expression or an interval, not both")
        zone(self.tz)
        if self.cron:
            check_cron(self.cron)
        else:
            check_interval(self.every_s)
            if not 0 <= self.start < _LATEST:
                raise BadSchedule("interval start must be a time between 1970 and 2200")

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def next_after(self, after: float) -> int | None:
        """The first slot strictly after ``after``; None when there is none within five years."""
        return next(self.iter_after(after), None)

    def iter_after(self, after: float) -> Iterator[int]:
        """Slots strictly after ``after``, in order (each instant once)."""
        if self.every_s:
            k = max(0, math.floor((after - self.start) / self.every_s) + 1)
            while True:
                slot = math.ceil(self.start + k * self.every_s)
                if slot > after:
                    yield slot
                k += 1
        from croniter import CroniterBadDateError, croniter

        tz = self.zone
        base = dt.datetime.fromtimestamp(math.floor(after), tz).replace(tzinfo=None) - _LOOKBACK
        it = croniter(self.cron, base)
        last = -1
        limit = after + _HORIZON_S
        while True:
            try:
                wall = it.get_next(dt.datetime)
            except CroniterBadDateError:
                return
            slot = wall_to_instant(wall, tz)
            if slot > limit:
                return
            if slot > after and slot != last:
                last = slot
                yield slot

    def between(self, after: float, until: float, limit: int = 10_000) -> tuple[list[int], int]:
        """Slots in ``(after, until]``: the latest 100 of them, and how many (``limit`` means at least that).

        The last slot returned is always the latest one at or before ``until``.
        """
        slots: list[int] = []
        count = 0
        for slot in self.iter_after(after):
            if slot > until:
                break
            if count >= limit:
                last = self.last_at_or_before(until)
                if last is not None and last > slots[-1]:
                    slots = [*slots[1:], last]
                break
            count += 1
            slots.append(slot)
            if len(slots) > 100:
                del slots[0]
        return slots, count

    def last_at_or_before(self, until: float) -> int | None:
        """The latest slot at or before ``until`` (None if there is none within five years)."""
        if self.every_s:
            k = math.floor((until - self.start) / self.every_s)
            while k >= 0 and math.ceil(self.start + k * self.every_s) > until:
                k -= 1  # ceil() may push the k-th slot just past ``until``
            return math.ceil(self.start + k * self.every_s) if k >= 0 else None
        from croniter import CroniterBadDateError, croniter

        tz = self.zone
        # Walk back from a wall time safely past ``until``: the wall-to-instant map is monotonic.
        base = dt.datetime.fromtimestamp(math.floor(until), tz).replace(tzinfo=None) + _LOOKBACK
        it = croniter(self.cron, base)
        while True:
            try:
                wall = it.get_prev(dt.datetime)
            except CroniterBadDateError:
                return None
            slot = wall_to_instant(wall, tz)
            if slot <= until:
                return slot

    def upcoming(self, after: float, n: int = 5) -> list[int]:
        out: list[int] = []
        for slot in self.iter_after(after):
            out.append(slot)
            if len(out) >= n:
                break
        return out
