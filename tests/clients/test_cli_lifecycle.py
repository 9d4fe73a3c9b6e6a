"""``greenroom start`` and ``greenroom stop`` as a person runs them: stop returns once the daemon
has exited (tasks parked, journal closed, lock released), start detaches one, exit codes as the
README says, and a parked task resumes after every restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from greenroom.bus import events as e
from greenroom.bus.codec import decode_envelope
from greenroom.bus.journal import Journal
from greenroom.clients import Client
from tests.conftest import call, cli_flags, finish, plan, wait_for, write_script

RESTARTS = 10


def greenroom(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GREENROOM_RUNTIME_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "greenroom", *cli_flags(root, root / "script.json"), *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip


@pytest.fixture
def root(short_tmp: Path):  # type: ignore[no-untyped-def]
    write_script(
        short_tmp / "script.json",
        {
            "plan": plan("write the note"),
            "step:1:round:1": call(("memory.remember", {"text": "parked but not lost"})),
            "step:1:round:2": finish("noted"),
            "answer": "Noted, after all those restarts.",
        },
    )
    yield short_tmp
    greenroom(short_tmp, "stop")


def task_events(root: Path, task_id: str) -> list[e.Event]:
    """The task's events, read from the journal file itself (only valid while no daemon runs)."""
    journal = Journal(root / "data" / "journal.sqlite")
    try:
        return [decode_envelope(raw).event for _, raw in journal.read(task_id=task_id)]
    finally:
        journal.close()


@pytest.mark.slow
class TestStartStop:
    def test_stop_then_start_ten_times_and_the_parked_task_resumes_each_time(self, root: Path) -> None:
        """Each stop returns with the daemon gone and the waiting task parked; each start resumes it."""
        started = greenroom(root, "start")
        assert started.returncode == 0, started.stderr
        assert "greenroom daemon started (pid" in started.stdout
        with Client(root / "run", name="test") as client:
            task_id = client.submit("write the note").task_id
            wait_for(lambda: client.task(task_id).confirmations, timeout=30)
        for restart in range(1, RESTARTS + 1):
            stopped = greenroom(root, "stop")
            assert stopped.returncode == 0, stopped.stderr
            assert "stopped" in stopped.stdout
            assert "1 task parked" in stopped.stdout
            # The daemon is gone: its lock is free and the journal says the task parked.
            events = task_events(root, task_id)
            assert sum(isinstance(ev, e.TaskParked) for ev in events) == restart
            assert isinstance(events[-1], e.TaskParked)
            started = greenroom(root, "start")
            assert started.returncode == 0, started.stderr
            with Client(root / "run", name="test") as client:
                view = wait_for(lambda c=client: (v := c.task(task_id)).confirmations and v, timeout=30)
                assert view.status == "waiting"
        with Client(root / "run", name="test") as client:
            resumed = [env.event for env in client.replay(task_id=task_id, limit=5000).events]
            assert sum(ev == e.TaskStarted(resumed=True) for ev in resumed) == RESTARTS
            asked = [ev for ev in resumed if isinstance(ev, e.ConfirmationAsked)]
            assert len(asked) == 1, "the question is asked once, however often the daemon restarts"
            client.confirm(asked[0].confirmation_id, True)
            wait_for(lambda: client.task(task_id).status == "finished", timeout=30)
            events = [env.event for env in client.replay(task_id=task_id, limit=5000).events]
        results = [ev for ev in events if isinstance(ev, e.ToolResult)]
        assert [(r.tool, r.ok) for r in results] == [("memory.remember", True)], "the parked call ran once, at the end"

    def test_exit_codes(self, root: Path) -> None:
        """start: 0 (started or already running), 1 when the daemon cannot start; stop: 0 (also when none runs)."""
        assert greenroom(root, "start").returncode == 0
        again = greenroom(root, "start")
        assert again.returncode == 0
        assert "already running" in again.stdout
        status = json.loads(greenroom(root, "status", "--json").stdout)
        assert status["pid"] > 0
        assert greenroom(root, "stop").returncode == 0
        assert greenroom(root, "status").returncode == 3
        none = greenroom(root, "stop")
        assert none.returncode == 0
        assert "no greenroom daemon is running" in none.stdout
        broken = root / "broken"
        broken.write_text("a file where the data dir should be")
        failed = subprocess.run(
            [*[sys.executable, "-m", "greenroom"], *cli_flags(root), "--data-dir", str(broken), "start"],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert failed.returncode == 1, failed.stderr
        assert "the daemon exited with status" in failed.stderr
        assert "Traceback" not in failed.stderr
