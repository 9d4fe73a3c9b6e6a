"""Terminal events are durable the moment a client has them: kill -9 right then, and they are there.

For each of ``task.finished``, ``task.failed``, ``task.cancelled`` and
``task.parked`` a real daemon process brings a task to that event, a client is
told of it (the timeline shows it; the reply to ``cancel`` carries its seq),
the daemon is killed with SIGKILL at once, and the journal, reopened as the
next start reopens it, holds the event at that seq with the task's status to
match; the next start agrees.

Parking happens only on an orderly stop (SIGTERM, ``shutdown``): a task
waiting for a person is parked while the gateway still serves, so the kill
lands after the timeline showed ``task.parked`` and before the process is done
stopping.

The reply to ``cancel`` can only be trusted if it waits for the commit: here
the test holds the journal's SQLite write lock while it asks, so a daemon that
answered before committing would give its answer while the event cannot be in
the journal, and the kill that follows would lose it.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pynng
import pytest

from greenroom.actors import TaskIndex
from greenroom.bus import Envelope, Journal, decode_envelope
from greenroom.bus import events as e
from greenroom.bus import protocol as p
from tests.conftest import call, cli_flags, plan, wait_for, write_script

pytestmark = pytest.mark.slow

HOLD_S = 0.5
"""How long the journal stays locked while ``cancel`` is asked. A daemon that answers before its
commit gives itself away within it; a correct one passes however long it is (SQLite's busy
timeout in the daemon is 5 s, so it stays well under that)."""

WAITING = {"plan": plan("remember a note"), "step:1:round:1": call(("memory.remember", {"text": "a note"}))}
"""A task that stops at a question (memory.remember asks first)."""


def journal_file(root: Path) -> Path:
    return root / "data" / "journal.sqlite"


def reopened(root: Path, seq: int, task_id: str) -> tuple[Envelope, p.TaskView]:
    """The event at ``seq`` and the task's view, from the journal opened afresh after the kill."""
    journal = Journal(journal_file(root))
    try:
        rows = journal.read_rows(seq, seq)
        index = TaskIndex()
        index.load(journal)
    finally:
        journal.close()
    assert len(rows) == 1, f"no event {seq} in the journal after the kill"
    view = index.get(task_id)
    assert view is not None
    return decode_envelope(rows[0][4]), view


def seen(client: Any, task_id: str, from_seq: int, kind: type[e.Event], timeout: float = 60.0) -> int:
    """Follow the task's events on the timeline until one of ``kind``; its seq."""
    deadline = time.monotonic() + timeout
    with contextlib.closing(client.follow(from_seq, task_id=task_id, idle=0.2)) as events:
        for env in events:
            if env is not None:
                assert not isinstance(env.event, e.TERMINAL_EVENTS) or isinstance(env.event, kind), env.event
                if isinstance(env.event, kind):
                    return int(env.seq)
            assert time.monotonic() < deadline, f"no {kind.__name__} within {timeout}s"
    raise AssertionError("the timeline ended")


@contextlib.contextmanager
def write_locked(root: Path) -> Iterator[None]:
    """Hold the journal's write lock (another writer, as SQLite sees it): the daemon's commits wait."""
    conn = sqlite3.connect(journal_file(root), timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        conn.close()


@pytest.fixture
def start(short_tmp: Path, daemon_process: Any) -> Any:
    """Start a daemon process on ``short_tmp`` that answers from ``responses``."""

    def run(responses: dict[str, str] | None = None) -> Any:
        if responses is not None:
            write_script(short_tmp / "script.json", responses)
        return daemon_process(short_tmp, cli_flags(short_tmp, short_tmp / "script.json")).start(timeout=60)

    return run


def killed(daemon: Any) -> None:
    """SIGKILL the daemon process and reap it."""
    assert daemon.kill(signal.SIGKILL) == -signal.SIGKILL


class TestTerminalEventsSurviveKill9:
    @pytest.mark.parametrize(
        ("responses", "kind", "status"),
        [
            ({"plan": plan("say hello"), "answer": "Hello."}, e.TaskFinished, "finished"),
            ({"plan": "this is not json"}, e.TaskFailed, "failed"),
        ],
        ids=["finished", "failed"],
    )
    def test_an_ending_the_timeline_showed_is_in_the_journal(
        self, short_tmp: Path, start: Any, responses: dict[str, str], kind: type[e.Event], status: str
    ) -> None:
        """task.finished / task.failed seen by a follower survive a kill -9 right after, at that seq."""
        daemon = start(responses)
        with daemon.client() as c:
            submitted = c.submit("the goal")
            seq = seen(c, submitted.task_id, submitted.seq, kind)
            killed(daemon)
        env, view = reopened(short_tmp, seq, submitted.task_id)
        assert isinstance(env.event, kind)
        assert (env.task_id, view.status) == (submitted.task_id, status)
        with start().client() as c:
            assert c.task(submitted.task_id).status == status

    def test_a_cancel_answered_is_in_the_journal(self, short_tmp: Path, start: Any) -> None:
        """The seq in the reply to cancel is committed before the reply: kill -9 right after loses nothing."""
        daemon = start(WAITING)
        with daemon.client() as c, ThreadPoolExecutor(1) as pool:
            task_id = c.submit("remember a note").task_id
            wait_for(lambda: c.task(task_id).confirmations, timeout=60)
            with write_locked(short_tmp):
                answer = pool.submit(c.cancel, task_id)
                with contextlib.suppress(TimeoutError):
                    answer.result(timeout=HOLD_S)  # a daemon that answers before committing answers now
                if answer.done():
                    killed(daemon)  # while the lock still keeps the event out of the journal
            reply = answer.result(timeout=60)
            if daemon.proc.poll() is None:
                killed(daemon)
        env, view = reopened(short_tmp, reply.seq, task_id)
        assert isinstance(env.event, e.TaskCancelled)
        assert (env.task_id, view.status) == (task_id, "cancelled")
        with start().client() as c:
            assert c.task(task_id).status == "cancelled"

    def test_a_park_the_timeline_showed_is_in_the_journal(self, short_tmp: Path, start: Any) -> None:
        """On a stop, task.parked is committed before the timeline shows it: kill -9 as it shows, and it is there."""
        daemon = start(WAITING)
        with daemon.client() as c:
            submitted = c.submit("remember a note")
            question = wait_for(lambda: c.task(submitted.task_id).confirmations, timeout=60)[0]
            timeline = c.hello.timeline
        # A bare subscriber, connected before the stop: nothing is asked of a daemon that is stopping.
        with pynng.Sub0(dial=timeline, block_on_dial=True, recv_timeout=60_000) as sub:
            sub.subscribe(b"task.parked ")
            daemon.proc.send_signal(signal.SIGTERM)  # parking happens only on an orderly stop
            env = decode_envelope(sub.recv().partition(b" ")[2])
            daemon.proc.send_signal(signal.SIGKILL)  # mid-stop (or just after, on a slow machine)
        assert daemon.proc.wait(30) in (-signal.SIGKILL, 0)
        found, view = reopened(short_tmp, env.seq, submitted.task_id)
        assert isinstance(found.event, e.TaskParked)
        assert (found.task_id, view.status) == (submitted.task_id, "parked")
        with start().client() as c:  # the next start resumes it, at the same question
            resumed = wait_for(lambda: (v := c.task(submitted.task_id)).confirmations and v, timeout=60)
            assert [q.confirmation_id for q in resumed.confirmations] == [question.confirmation_id]
