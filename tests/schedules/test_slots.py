"""Slots of cron and interval schedules, DST included."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.schedules import BadSchedule, Recurrence, check_cron, parse_duration, wall_to_instant

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(ts: int, tz: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M %Z")


def at(tz: ZoneInfo, *fields: int) -> float:
    return dt.datetime(*fields, tzinfo=tz).timestamp()


class TestWallToInstant:
    def test_ordinary_time_maps_to_itself(self) -> None:
        """An unambiguous local time is that instant."""
        wall = dt.datetime(2024, 6, 1, 8, 0)
        assert wall_to_instant(wall, BERLIN) == int(wall.replace(tzinfo=BERLIN).timestamp())

    def test_time_in_the_spring_gap_maps_to_the_jump(self) -> None:
        """02:30 on Berlin's spring-forward day fires when the clocks jump to 03:00."""
        slot = wall_to_instant(dt.datetime(2024, 3, 31, 2, 30), BERLIN)
        assert local(slot, BERLIN) == "2024-03-31 03:00 CEST"
        assert local(slot - 1, BERLIN) == "2024-03-31 01:59 CET"

    def test_repeated_time_maps_to_its_first_occurrence(self) -> None:
        """02:30 on Berlin's fall-back day is the first 02:30 (summer time)."""
        slot = wall_to_instant(dt.datetime(2024, 10, 27, 2, 30), BERLIN)
        assert local(slot, BERLIN) == "2024-10-27 02:30 CEST"

    @settings(max_examples=300, deadline=None)
    @given(
        st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 1, 1)),
        st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]),
    )
    def test_first_instant_reading_at_least_the_wall_time(self, wall: dt.datetime, name: str) -> None:
        """The instant reads ``wall`` or later, and one second before it read earlier."""
        tz = ZoneInfo(name)
        wall = wall.replace(microsecond=0)
        slot = wall_to_instant(wall, tz)
        assert dt.datetime.fromtimestamp(slot, tz).replace(tzinfo=None) >= wall
        assert dt.datetime.fromtimestamp(slot - 1, tz).replace(tzinfo=None) < wall


class TestCronSlots:
    @pytest.mark.parametrize(
        ("tz", "day", "expected"),
        [
            (BERLIN, (2024, 3, 30), ["03-30 02:30", "03-31 03:00", "04-01 02:30"]),  # spring forward
            (BERLIN, (2024, 10, 26), ["10-26 02:30", "10-27 02:30", "10-28 02:30"]),  # fall back
            (NEW_YORK, (2024, 3, 9), ["03-09 02:30", "03-10 03:00", "03-11 02:30"]),
            (NEW_YORK, (2024, 11, 2), ["11-02 02:30", "11-03 02:30", "11-04 02:30"]),
        ],
    )
    def test_daily_0230_across_dst(self, tz: ZoneInfo, day: tuple[int, int, int], expected: list[str]) -> None:
        """A daily 02:30 has exactly one slot on each of three days around a transition."""
        rec = Recurrence(cron="30 2 * * *", tz=str(tz))
        slots = rec.upcoming(at(tz, *day, 0, 0), 3)
        assert [dt.datetime.fromtimestamp(s, tz).strftime("%m-%d %H:%M") for s in slots] == expected

    def test_new_york_0130_on_fall_back_runs_once(self) -> None:
        """01:30 happens twice in New York on 3 November 2024; the slot is the first (EDT)."""
        rec = Recurrence(cron="30 1 * * *", tz="America/New_York")
        slots = rec.upcoming(at(NEW_YORK, 2024, 11, 2, 12, 0), 2)
        assert [local(s, NEW_YORK) for s in slots] == ["2024-11-03 01:30 EDT", "2024-11-04 01:30 EST"]

    def test_slots_in_the_gap_collapse_into_one(self) -> None:
        """*/15 in Berlin's skipped hour gives one slot at the jump, not four."""
        rec = Recurrence(cron="*/15 * * * *", tz="Europe/Berlin")
        slots = rec.between(at(BERLIN, 2024, 3, 31, 1, 40), at(BERLIN, 2024, 3, 31, 3, 20))[0]
        assert [local(s, BERLIN)[11:] for s in slots] == ["01:45 CET", "03:00 CEST", "03:15 CEST"]

    def test_between_counts_and_keeps_the_latest_hundred(self) -> None:
        """A long gap counts every slot and lists the latest 100, ending at the last one."""
        rec = Recurrence(cron="*/5 * * * *", tz="UTC")
        start = at(ZoneInfo("UTC"), 2024, 1, 1, 0, 0)
        slots, count = rec.between(start, start + 86400)
        assert count == 288
        assert len(slots) == 100
        assert slots[-1] == start + 86400

    def test_between_is_bounded(self) -> None:
        """Past the limit the count stops, but the last slot listed is still the latest one."""
        rec = Recurrence(cron="* * * * *", tz="UTC")
        slots, count = rec.between(0, 86400 * 30, limit=500)
        assert count == 500
        assert slots[-1] == 86400 * 30
        assert rec.last_at_or_before(86400 * 30 + 59) == 86400 * 30


class TestIntervals:
    def test_interval_slots_from_start(self) -> None:
        """Slots are start + k * interval, never before start."""
        rec = Recurrence(every_s=1800, start=10_000)
        assert rec.upcoming(0, 3) == [10_000, 11_800, 13_600]
        assert rec.next_after(10_000) == 11_800
        assert rec.last_at_or_before(13_000) == 11_800
        assert rec.last_at_or_before(9_999) is None

    def test_interval_ignores_dst(self) -> None:
        """An hourly interval is 3600 s apart across a transition, in any zone."""
        rec = Recurrence(every_s=3600, tz="Europe/Berlin", start=at(BERLIN, 2024, 3, 31, 0, 0))
        slots = rec.upcoming(at(BERLIN, 2024, 3, 31, 0, 0), 4)
        assert [b - a for a, b in itertools.pairwise(slots)] == [3600, 3600, 3600]

    @pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("61", 61)])
    def test_durations(self, text: str, seconds: float) -> None:
        """Durations parse with their unit."""
        assert parse_duration(text) == seconds


class TestValidation:
    @pytest.mark.parametrize(
        "expr",
        ["", "* * * *", "0 8 * * 1-5 2024", "61 * * * *", "0 0 31 2 *", "bogus", "0 8 * * 9", "x" * 300, "* * * * * *"],
    )
    def test_bad_cron_is_refused(self, expr: str) -> None:
        """Wrong field counts, ranges, never-firing dates and junk are refused with a message."""
        with pytest.raises(BadSchedule):
            check_cron(expr)

    @pytest.mark.parametrize("expr", ["0 8 * * 1-5", "@hourly", "*/15 9-17 * * mon-fri", "0 0 29 2 *"])
    def test_good_cron_is_accepted(self, expr: str) -> None:
        """Ordinary expressions, aliases and leap days pass."""
        assert check_cron(expr)

    @pytest.mark.parametrize("tz", ["Mars/Olympus", "../../etc/passwd", "/etc/localtime", "", "x" * 100])
    def test_bad_zone_is_refused(self, tz: str) -> None:
        """Unknown or path-like zone names are refused."""
        with pytest.raises(BadSchedule, match="zone"):
            Recurrence(cron="0 8 * * *", tz=tz)

    @pytest.mark.parametrize("text", ["0", "5s", "400d", "-1m", "1y", "nan", "", "1e999"])
    def test_bad_interval_is_refused(self, text: str) -> None:
        """Too short, too long, negative or malformed intervals are refused."""
        with pytest.raises(BadSchedule):
            parse_duration(text)

    def test_cron_and_interval_are_exclusive(self) -> None:
        """A schedule has one kind of recurrence."""
        with pytest.raises(BadSchedule, match="not both"):
            Recurrence(cron="0 8 * * *", every_s=3600)
        with pytest.raises(BadSchedule):
            Recurrence()

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=60))
    def test_any_text_is_accepted_or_refused_cleanly(self, expr: str) -> None:
        """Arbitrary text either validates or raises BadSchedule, nothing else."""
        with contextlib.suppress(BadSchedule):
            check_cron(expr)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=40))
    def test_any_duration_text_is_handled(self, text: str) -> None:
        """Arbitrary duration text parses or raises BadSchedule."""
        with contextlib.suppress(BadSchedule):
            assert parse_duration(text) >= 60
