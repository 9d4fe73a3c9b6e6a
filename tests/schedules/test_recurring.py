"""Recurring schedules on a real bus and journal, with a frozen clock."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from greenroom.bus import Bus, Journal
from greenroom.bus.codec import decode_envelope
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import ScheduleMissed, SchedulePaused, TaskFailed, TaskFinished, TaskSubmitted
from greenroom.bus.protocol import ScheduleAdd
from greenroom.runtime.errors import RequestError
from greenroom.runtime.schedule_ops import ScheduleOps
from greenroom.schedules import Recurring, ScheduleConfig, ScheduleIndex

BERLIN = ZoneInfo("Europe/Berlin")


class Harness:
    """A journal, bus, schedule index and ``Recurring`` (timer not started), with a settable clock."""

    def __init__(self, path: Path, now: float) -> None:
        self.path = path
        self.now = now
        self._open()

    def _open(self) -> None:
        self.journal = Journal(self.path)
        self.bus = Bus(self.journal)
        self.index = ScheduleIndex()
        self.index.load(self.journal)
        self.bus.add_listener(self.index.apply)
        self.ops = ScheduleOps(self.bus, self.index, ScheduleConfig(), lambda: self.now)
        self.recurring = Recurring(self.bus, self.index, lambda: self.now, lambda: None)

    def restart(self, now: float) -> None:
        """Close everything (as a stopped daemon would) and open again at ``now``."""
        self.close()
        self.now = now
        self._open()

    def tick(self, now: float | None = None) -> list[str]:
        if now is not None:
            self.now = now
        return self.recurring.tick()

    def add(self, cron: str = "", every_s: float = 0, tz: str = "Europe/Berlin", **kw: object) -> str:
        req = ScheduleAdd(goal="check the inbox", cron=cron, every_s=every_s, tz=tz, **kw)  # type: ignore[arg-type]
        return self.ops.add(req).schedule_id

    def events(self) -> list[Envelope]:
        self.bus.flush()
        return [decode_envelope(raw) for _, raw in self.journal.read(1, limit=100_000)]

    def fires(self) -> list[TaskSubmitted]:
        return [e.event for e in self.events() if isinstance(e.event, TaskSubmitted) and e.event.schedule_id]

    def close(self) -> None:
        self.bus.close()
        self.journal.close()


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    h = Harness(tmp_path / "journal.sqlite", dt.datetime(2024, 6, 3, 7, 30, tzinfo=BERLIN).timestamp())
    yield h  # type: ignore[misc]
    h.close()


def berlin(*fields: int) -> float:
    return dt.datetime(*fields, tzinfo=BERLIN).timestamp()


class TestCatchUp:
    @pytest.mark.parametrize(("catch_up", "runs"), [("skip", 0), ("once", 1)])
    def test_daemon_down_from_0750_to_1010(self, harness: Harness, catch_up: str, runs: int) -> None:
        """An hourly schedule down 07:50-10:10 runs none (skip) or once (once) on restart."""
        sid = harness.add("0 * * * *", catch_up=catch_up)
        assert harness.tick(berlin(2024, 6, 3, 7, 50)) == []
        harness.restart(berlin(2024, 6, 3, 10, 10))
        fired = harness.tick()
        assert len(fired) == runs
        missed_slots = [berlin(2024, 6, 3, h, 0) for h in (8, 9, 10)]
        if catch_up == "skip":
            missed = [e.event for e in harness.events() if isinstance(e.event, ScheduleMissed)]
            assert [(m.schedule_id, m.slots, m.count) for m in missed] == [(sid, missed_slots, 3)]
        else:
            [run] = harness.fires()
            assert (run.slot, run.missed) == (missed_slots[-1], missed_slots)
        assert harness.tick() == [], "nothing more is due until 11:00"
        assert harness.recurring.timer.deadline == berlin(2024, 6, 3, 11, 0)
        assert len(harness.tick(berlin(2024, 6, 3, 11, 0, 5))) == 1, "11:00 is on time"

    def test_on_time_slot_runs_and_older_ones_are_skipped(self, harness: Harness) -> None:
        """With skip, a late wake still runs the slot that is on time and records the older ones."""
        sid = harness.add("*/5 * * * *")
        assert len(harness.tick(berlin(2024, 6, 3, 7, 35, 10))) == 1
        fired = harness.tick(berlin(2024, 6, 3, 8, 0, 30))
        assert len(fired) == 1
        assert harness.fires()[-1].slot == berlin(2024, 6, 3, 8, 0)
        [missed] = [e.event for e in harness.events() if isinstance(e.event, ScheduleMissed)]
        assert (missed.schedule_id, missed.count) == (sid, 4)  # 07:40 … 07:55

    def test_paused_time_is_not_caught_up(self, harness: Harness) -> None:
        """Slots that pass while a schedule is paused are neither run nor missed after resume."""
        sid = harness.add("0 * * * *", catch_up="once")
        harness.ops.pause(sid)
        assert harness.tick(berlin(2024, 6, 3, 12, 30)) == []
        harness.ops.resume(sid)
        assert harness.tick() == []
        assert len(harness.tick(berlin(2024, 6, 3, 13, 0, 1))) == 1
        assert harness.index.get(sid).missed == 0  # type: ignore[union-attr]


class TestAtMostOnce:
    def test_fire_then_crash_before_start_does_not_fire_again(self, harness: Harness) -> None:
        """A fire is durable before anything else: after a restart at the same moment the slot is done."""
        harness.add("0 8 * * *")
        [task_id] = harness.tick(berlin(2024, 6, 3, 8, 0, 1))
        harness.restart(berlin(2024, 6, 3, 8, 0, 2))
        assert harness.tick() == []
        harness.restart(berlin(2024, 6, 3, 8, 30))
        assert harness.tick() == []
        assert [f.slot for f in harness.fires()] == [berlin(2024, 6, 3, 8, 0)]
        assert harness.index.get(harness.fires()[0].schedule_id).runs[0].task_id == task_id  # type: ignore[union-attr]

    def test_clock_set_back_does_not_repeat_a_slot(self, harness: Harness) -> None:
        """When the wall clock moves back an hour, a slot already run does not run again."""
        harness.add("30 9 * * *")
        assert len(harness.tick(berlin(2024, 6, 3, 9, 30, 0))) == 1
        assert harness.tick(berlin(2024, 6, 3, 8, 45)) == []
        assert harness.tick(berlin(2024, 6, 3, 9, 30, 10)) == []
        assert len(harness.fires()) == 1


class TestDst:
    @pytest.mark.parametrize(
        ("tz", "first_day"),
        [
            ("Europe/Berlin", (2024, 3, 30)),
            ("Europe/Berlin", (2024, 10, 26)),
            ("America/New_York", (2024, 3, 9)),
            ("America/New_York", (2024, 11, 2)),
        ],
    )
    @pytest.mark.parametrize("step", ["wakeups", "minutes"])
    def test_daily_0230_fires_once_each_day(
        self, tmp_path: Path, tz: str, first_day: tuple[int, int, int], step: str
    ) -> None:
        """Across a transition a daily 02:30 fires exactly once per local day, whether the clock
        jumps from wake-up to wake-up or creeps two minutes at a time."""
        zone = ZoneInfo(tz)
        start = dt.datetime(*first_day, 0, 0, tzinfo=zone).timestamp()
        h = Harness(tmp_path / "j.sqlite", start)
        try:
            h.add("30 2 * * *", tz=tz)
            end = start + 3 * 86400
            h.tick()
            while h.now < end:
                deadline = h.recurring.timer.deadline
                assert deadline is not None
                h.tick(min(deadline, end) if step == "wakeups" else h.now + 120)
            days = Counter(dt.datetime.fromtimestamp(f.slot or 0, zone).date() for f in h.fires())
            assert sorted(days.values()) == [1, 1, 1], days
            assert len(days) == 3
        finally:
            h.close()


class TestFailures:
    def test_paused_after_consecutive_failures(self, harness: Harness) -> None:
        """Three failed runs in a row pause the schedule with an event saying why; resume starts over."""
        sid = harness.add("0 * * * *", max_failures=3)
        for hour, ok in [(8, False), (9, True), (10, False), (11, False), (12, False)]:
            [task_id] = harness.tick(berlin(2024, 6, 3, hour, 0, 1))
            event = TaskFinished(answer="done") if ok else TaskFailed(error="model missing")
            harness.bus.publish(event, source="test", task_id=task_id, durable=True)
        assert harness.tick() == []
        [paused] = [e.event for e in harness.events() if isinstance(e.event, SchedulePaused)]
        assert (paused.schedule_id, paused.failures) == (sid, 3)
        assert "3 consecutive failed runs" in paused.reason
        view = harness.index.get(sid)
        assert view is not None
        assert (view.status, view.reason) == ("paused", paused.reason)
        assert harness.tick(berlin(2024, 6, 3, 13, 0, 1)) == []
        harness.ops.resume(sid)
        assert harness.index.get(sid).failures == 0  # type: ignore[union-attr]
        assert len(harness.tick(berlin(2024, 6, 3, 14, 0, 1))) == 1


class TestOps:
    def test_requests_are_validated(self, harness: Harness) -> None:
        """Bad requests get errors that say what is wrong; unknown ids are not found."""
        cases = [
            (ScheduleAdd(goal="x", cron="bad"), "bad_request"),
            (ScheduleAdd(goal=" ", cron="0 8 * * *"), "bad_request"),
            (ScheduleAdd(goal="x", cron="0 8 * * *", tz="Nowhere/Else"), "bad_request"),
            (ScheduleAdd(goal="x", every_s=5), "bad_request"),
            (ScheduleAdd(goal="x", cron="0 8 * * *", every_s=3600), "bad_request"),
            (ScheduleAdd(goal="x", every_s=3600, start=-5), "bad_request"),
            (ScheduleAdd(goal="x", cron="0 8 * * *", max_failures=-1), "bad_request"),
        ]
        for req, code in cases:
            with pytest.raises(RequestError) as info:
                harness.ops.add(req)
            assert info.value.code == code, req
        for op in (harness.ops.pause, harness.ops.resume, harness.ops.remove, harness.ops.run_now, harness.ops.show):
            with pytest.raises(RequestError) as info:
                op("s-nope")
            assert info.value.code == "not_found"

    def test_run_now_and_remove(self, harness: Harness) -> None:
        """run-now submits a run without a slot; a removed schedule fires no more."""
        sid = harness.add(every_s=3600)
        task_id, _ = harness.ops.run_now(sid)
        view = harness.ops.show(sid)
        assert [(r.task_id, r.slot) for r in view.runs] == [(task_id, None)]
        assert view.next_slots[0] == pytest.approx(harness.now + 3600, abs=1)
        harness.ops.remove(sid)
        assert harness.tick(harness.now + 7200) == []
        assert harness.ops.views() == []
        assert len(harness.ops.views(removed=True)) == 1
