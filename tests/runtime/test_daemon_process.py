"""A real daemon process: kill -9 and resume, SIGTERM parks, one daemon per data dir."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from tests.conftest import call, cli_flags, finish, plan, wait_for, write_script

pytestmark = pytest.mark.slow


def daemon_args(root: Path, script: Path) -> list[str]:
    return cli_flags(root, script)


def journal_events(root: Path) -> list[Any]:
    conn = sqlite3.connect(root / "data" / "journal.sqlite")
    try:
        return [decode_envelope(body) for (body,) in conn.execute("SELECT body FROM events ORDER BY seq")]
    finally:
        conn.close()


def notes(root: Path) -> list[str]:
    conn = sqlite3.connect(root / "data" / "memory.sqlite")
    try:
        return [
            t
            for (t,) in conn.execute("SELECT c.text FROM chunks c JOIN items i ON i.id = c.item_id ORDER BY i.created")
        ]
    finally:
        conn.close()


def three_step_script(root: Path) -> Path:
    (root / "notes.txt").write_text("open question: why is the sky blue?")
    return write_script(
        root / "script.json",
        {
            "plan": plan("note one", "note two", "read the notes"),
            "step:1:round:1": call(("memory.remember", {"text": "first note"})),
            "step:1:round:2": finish("noted one"),
            "step:2:round:1": call(("memory.remember", {"text": "second note"})),
            "step:2:round:2": finish("noted two"),
            "step:3:round:1": call(("fs.read", {"path": str(root / "notes.txt")})),
            "step:3:round:2": finish("read them"),
            "answer": "Two notes stored; one open question found.",
        },
    )


def pending_confirmation(client: Any, task_id: str, not_this: str = "") -> str:
    def find() -> str | None:
        view = client.task(task_id)
        ids = [c.confirmation_id for c in view.confirmations if c.confirmation_id != not_this]
        return ids[0] if ids else None

    return wait_for(find, timeout=60)  # a deadline: a loaded machine restarts the daemon slowly


class TestCrashRecovery:
    def test_kill_9_mid_task_then_restart_resumes_without_rerunning_tools(
        self, short_tmp: Path, daemon_process: Any
    ) -> None:
        """After kill -9 the task resumes, finishes, runs no completed tool twice; seq has no holes."""
        args = daemon_args(short_tmp, three_step_script(short_tmp))
        first = daemon_process(short_tmp, args).start()
        with first.client() as c:
            task_id = c.submit("store two notes and read the open questions").task_id
            c1 = pending_confirmation(c, task_id)
            c.confirm(c1, approved=True)
            c2 = pending_confirmation(c, task_id, not_this=c1)
        assert notes(short_tmp) == ["first note"]
        assert first.kill(signal.SIGKILL) == -signal.SIGKILL

        second = daemon_process(short_tmp, args).start()
        with second.client() as c:
            view = wait_for(lambda: (v := c.task(task_id)).confirmations and v)
            assert [x.confirmation_id for x in view.confirmations] == [c2], "the same question, not a new one"
            c.confirm(c2, approved=True)
            done = wait_for(lambda: (v := c.task(task_id)).status in ("finished", "failed") and v, timeout=20)
        assert done.status == "finished", done.error
        assert done.answer == "Two notes stored; one open question found."
        assert notes(short_tmp) == ["first note", "second note"]

        envs = journal_events(short_tmp)
        seqs = [env.seq for env in envs]
        assert seqs == list(range(1, len(seqs) + 1))
        mine = [env.event for env in envs if env.task_id == task_id]
        invoked = [ev.call_id for ev in mine if isinstance(ev, e.ToolInvoked)]
        assert len(invoked) == len(set(invoked)) == 3
        asked = [ev.confirmation_id for ev in mine if isinstance(ev, e.ConfirmationAsked)]
        assert asked == [c1, c2]
        assert e.TaskStarted(resumed=True) in mine
        second.kill(signal.SIGTERM)

    def test_sigterm_parks_and_the_next_start_resumes(self, short_tmp: Path, daemon_process: Any) -> None:
        """SIGTERM parks a waiting task (task.parked), exits 0; the next start resumes it."""
        args = daemon_args(short_tmp, three_step_script(short_tmp))
        first = daemon_process(short_tmp, args).start()
        with first.client() as c:
            task_id = c.submit("notes").task_id
            c1 = pending_confirmation(c, task_id)
        assert first.kill(signal.SIGTERM) == 0
        kinds = [env.event for env in journal_events(short_tmp) if env.task_id == task_id]
        assert isinstance(kinds[-1], e.TaskParked)

        second = daemon_process(short_tmp, args).start()
        with second.client() as c:
            assert pending_confirmation(c, task_id) == c1
            assert c.task(task_id).status == "waiting"
        second.kill(signal.SIGTERM)

    def test_sigterm_while_starting_is_an_orderly_stop(self, short_tmp: Path) -> None:
        """A SIGTERM that comes while the daemon starts (as from a service manager stopping it at
        once) stops it in order, exit 0; it killed the process outright before the daemon was ready."""
        args = daemon_args(short_tmp, three_step_script(short_tmp))
        with open(short_tmp / "daemon.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "greenroom", *args, "daemon"], stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
        try:
            wait_for(lambda: (short_tmp / "data" / "daemon.lock").exists() or proc.poll() is not None, 60)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, (short_tmp / "daemon.log").read_text()[-2000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert '"reason": "SIGTERM"' in (short_tmp / "daemon.log").read_text()

    def test_one_daemon_per_data_dir(self, short_tmp: Path, daemon_process: Any) -> None:
        """A second daemon on the same data dir exits with a clear message, the first keeps serving."""
        args = daemon_args(short_tmp, three_step_script(short_tmp))
        first = daemon_process(short_tmp, args).start()
        proc = subprocess.run(
            [sys.executable, "-m", "greenroom", *args, "daemon"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 2
        assert "already running" in proc.stderr
        assert "Traceback" not in proc.stderr
        with first.client() as c:
            assert c.status().pid == first.proc.pid
        first.kill(signal.SIGTERM)
