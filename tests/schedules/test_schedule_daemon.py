"""Recurring schedules in a running daemon: catch-up on restart, kill -9, failures, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from greenroom.bus.events import ScheduleMissed, SchedulePaused, TaskStarted, TaskSubmitted
from greenroom.clients import Client
from tests.conftest import cli_flags, make_config, wait_for, write_script

BERLIN = ZoneInfo("Europe/Berlin")


class FrozenClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def events(client: Client, cls: type) -> list[Any]:
    return [e for e in client.replay(1, limit=5000).events if isinstance(e.event, cls)]


def fired(client: Client, schedule_id: str) -> list[Any]:
    return [e for e in events(client, TaskSubmitted) if e.event.schedule_id == schedule_id]


class TestCatchUpAcrossRestart:
    @pytest.mark.parametrize(("catch_up", "runs"), [("skip", 0), ("once", 1)])
    def test_down_from_0750_to_1010(self, short_tmp: Path, daemon_factory: Any, catch_up: str, runs: int) -> None:
        """An hourly schedule in a daemon stopped at 07:50 and started at 10:10 runs 0 (skip) or 1 (once) times."""
        config = make_config(short_tmp)
        clock = FrozenClock(dt.datetime(2024, 6, 3, 7, 30, tzinfo=BERLIN).timestamp())
        first = daemon_factory(config, clock=clock)
        with first.client() as c:
            sid = c.schedule_add("say hello", cron="0 * * * *", tz="Europe/Berlin", catch_up=catch_up).schedule_id
        clock.now = dt.datetime(2024, 6, 3, 7, 50, tzinfo=BERLIN).timestamp()
        first.stop()

        clock.now = dt.datetime(2024, 6, 3, 10, 10, tzinfo=BERLIN).timestamp()
        second = daemon_factory(config, clock=clock)
        slots = [int(dt.datetime(2024, 6, 3, h, 0, tzinfo=BERLIN).timestamp()) for h in (8, 9, 10)]
        with second.client() as c:
            if catch_up == "skip":
                [missed] = wait_for(lambda: events(c, ScheduleMissed))
                assert (missed.event.slots, missed.event.count) == (slots, 3)
            else:
                [run] = wait_for(lambda: fired(c, sid))
                assert (run.event.slot, run.event.missed) == (slots[-1], slots)
                wait_for(lambda: c.task(run.task_id).status == "finished")
            assert len(fired(c, sid)) == runs
            view = c.schedule(sid)
            assert view.cursor == slots[-1]
            assert view.next_slots[0] == slots[-1] + 3600


class TestOneTimer:
    def test_many_schedules_share_one_timer(self, short_tmp: Path, daemon_factory: Any) -> None:
        """Twenty schedules add no threads: one timer serves them all."""
        clock = FrozenClock(dt.datetime(2024, 6, 3, 7, 30, tzinfo=BERLIN).timestamp())
        daemon = daemon_factory(make_config(short_tmp), clock=clock)
        # The gateway's pooled AnyIO workers start asynchronously: they are not the schedules' threads.
        def ours() -> int:
            return sum(t.name != "AnyIO worker thread" for t in threading.enumerate())

        before = ours()
        with daemon.client() as c:
            for minute in range(20):
                c.schedule_add(f"task {minute}", cron=f"{minute + 31} 7 * * *", tz="Europe/Berlin")
            wait_for(lambda: len(c.schedules()) == 20)
        timers = [t for t in threading.enumerate() if t.name == "schedule-timer"]
        assert len(timers) == 1
        assert ours() <= before + 1, sorted(t.name for t in threading.enumerate())
        with daemon.client() as c:
            assert min(v.next_slots[0] for v in c.schedules()) == clock.now + 60


class TestFailures:
    def test_schedule_pauses_after_failed_runs(self, short_tmp: Path, daemon_factory: Any) -> None:
        """Runs that keep failing pause the schedule with a schedule.paused event saying why."""
        script = write_script(short_tmp / "script.json", {"plan": "not json at all"})
        daemon = daemon_factory(make_config(short_tmp, script))
        with daemon.client() as c:
            sid = c.schedule_add("plan badly", cron="0 8 * * *", tz="UTC", max_failures=2).schedule_id
            for _ in range(2):
                task_id = c.schedule_run(sid).task_id
                wait_for(lambda t=task_id: c.task(t).status == "failed")
            [paused] = wait_for(lambda: events(c, SchedulePaused))
            assert paused.event.schedule_id == sid
            assert paused.event.reason == "paused after 2 consecutive failed runs"
            view = c.schedule(sid)
            assert (view.status, view.failures) == ("paused", 2)
            assert [r.status for r in view.runs] == ["failed", "failed"]


def greenroom(flags: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenroom", *flags, "schedule", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip


@pytest.mark.slow
class TestKilledBetweenFireAndStart:
    def test_kill9_after_fire_gives_one_task(self, short_tmp: Path, daemon_process: Any) -> None:
        """A slot fired just before a kill -9 (its task not started) runs once after restart, never twice."""
        flags = cli_flags(short_tmp)
        # No task may start: the fire is journaled, the start never comes.
        blocked = daemon_process(short_tmp, [*flags, "--set", "agent.max_concurrent_tasks=0"]).start()
        start = (dt.datetime.now().astimezone() + dt.timedelta(seconds=2)).isoformat(timespec="seconds")
        added = greenroom(flags, "add", "--every", "1h", "--start", start, "--json", "--tz", "UTC", "hello")
        assert added.returncode == 0, added.stderr
        sid = json.loads(added.stdout)["schedule_id"]
        with blocked.client() as c:
            [run] = wait_for(lambda: fired(c, sid), timeout=30)
            assert c.task(run.task_id).status == "pending"
        assert blocked.kill() == -9

        daemon = daemon_process(short_tmp, flags).start()
        with daemon.client() as c:
            wait_for(lambda: any(e.task_id == run.task_id for e in events(c, TaskStarted)), timeout=30)
            wait_for(lambda: c.task(run.task_id).status == "finished", timeout=30)
            assert [e.task_id for e in fired(c, sid)] == [run.task_id]

        shown = greenroom(flags, "show", sid)
        assert shown.returncode == 0, shown.stderr
        assert "every 1h in UTC" in shown.stdout
        assert f"{run.task_id}  finished" in shown.stdout
        assert "1 on schedule, 0 slots missed" in shown.stdout
        assert greenroom(flags, "pause", sid).stdout.strip() == f"{sid}: paused"
        assert f"{sid}  paused (paused by greenroom-cli)" in greenroom(flags, "list").stdout
        assert greenroom(flags, "pause", sid).returncode == 2, "pausing twice is a conflict"
        assert greenroom(flags, "resume", sid).returncode == 0
        now_run = greenroom(flags, "run-now", sid)
        assert now_run.returncode == 0, now_run.stderr
        assert greenroom(flags, "rm", sid).returncode == 0
        assert greenroom(flags, "list").stdout.strip() == "no schedules"
        assert greenroom(flags, "show", "s-missing").returncode == 2
        bad = greenroom(flags, "add", "61 * * * *", "x")
        assert bad.returncode == 2
        assert "invalid cron expression" in bad.stderr
