"""Journal operations through a running daemon: stats, compaction, retention, export, backup, reset."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import Journal, read_envelopes
from greenroom.bus import events as e
from greenroom.clients import Client, ServerError
from tests.conftest import call, cli_flags, finish, make_config, plan, wait_for, write_script

SCRIPT = {
    "plan": plan("answer"),
    "step:1:round:1": finish("forty-two, after a long and careful deliberation about the question"),
    "answer": "The answer is forty-two, said at some length so that there are many token chunks.",
}


def run_task(client: Client, goal: str) -> str:
    """Submit, say yes to its question, wait until it finished."""
    task_id = client.submit(goal).task_id
    view = wait_for(lambda: (v := client.task(task_id)).status in ("waiting", "finished") and v, timeout=30)
    if view.status == "waiting":
        client.confirm(view.confirmations[0].confirmation_id, True)
    wait_for(lambda: client.task(task_id).status == "finished", timeout=30)
    return task_id


def open_task(client: Client) -> str:
    """A task that waits for an answer (memory.remember asks first): it stays open."""
    task_id = client.submit("remember the waiting task").task_id
    wait_for(lambda: client.task(task_id).status == "waiting", timeout=30)
    return task_id


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any) -> Any:
    def start(*overrides: str, clock: Any = time.time) -> Any:
        responses = {
            **SCRIPT,
            "step:1:round:1": call(("memory.remember", {"text": "waiting"})),
            "step:1:round:2": SCRIPT["step:1:round:1"],
        }
        script = write_script(short_tmp / "script.json", responses)
        return daemon_factory(make_config(short_tmp, script, "memory.rerank=false", *overrides), clock=clock)

    return start


def tail(daemon: Any, task_id: str, count: int) -> str:
    """``greenroom tail --from 0 --task ID --json --tokens``: what a person replays."""
    root = daemon.config.data_dir.parent
    args = ["tail", "--from", "0", "--task", task_id, "--json", "--tokens", "--limit", str(count)]
    result = subprocess.run(
        [sys.executable, "-m", "greenroom", *cli_flags(root), *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == count
    return result.stdout


def chunks_of(client: Client, task_id: str) -> int:
    return sum(isinstance(env.event, e.LlmChunk) for env in client.replay(1, task_id=task_id, limit=5000).events)


class TestCompaction:
    def test_finished_tasks_fold_and_an_open_task_replays_unchanged(self, daemon: Any) -> None:
        """Chunks of finished tasks go into their llm.finished; the open task's history is byte-for-byte the same."""
        d = daemon()
        with d.client() as client:
            done = [run_task(client, f"question {i}") for i in range(2)]
            still_open = open_task(client)
            before_open = client.replay(1, task_id=still_open, limit=5000).events
            tail_before = tail(d, still_open, len(before_open))
            before = {t: client.replay(1, task_id=t, limit=5000).events for t in done}
            stats = client.journal_stats()
            assert stats.foldable_chunks == 0, "the default keeps 7 days"
            report = client.journal_compact(0)
            assert report.chunks == sum(chunks_of_envs(before[t]) for t in done) > 0
            assert report.tasks == len(done)
            assert client.replay(1, task_id=still_open, limit=5000).events == before_open
            assert tail(d, still_open, len(before_open)) == tail_before
            for t in done:
                after = client.replay(1, task_id=t, limit=5000).events
                assert [x for x in before[t] if not isinstance(x.event, e.LlmChunk | e.LlmFinished)] == [
                    x for x in after if not isinstance(x.event, e.LlmChunk | e.LlmFinished)
                ], "every other event keeps its seq and body"
                folded = [x.event for x in after if isinstance(x.event, e.LlmFinished)]
                assert sum(f.folded for f in folded) == chunks_of_envs(before[t])
                assert chunks_of(client, t) == 0
            assert client.journal_stats().foldable_chunks == 0
            compacted = [x.event for x in client.replay(report.seq, report.seq).events]
            assert isinstance(compacted[0], e.JournalCompacted)
            assert compacted[0].chunks == report.chunks

    def test_retention_folds_by_age_on_its_own(self, daemon: Any) -> None:
        """With the clock two days on, a one-day retention folds on the daemon's timer (no request)."""
        now = [time.time()]
        d = daemon("journal.fold_chunks_after_days=1", "journal.compact_every_h=0.0003", clock=lambda: now[0])
        with d.client() as client:
            task = run_task(client, "a question")
            assert chunks_of(client, task) > 0
            assert client.journal_stats().foldable_chunks == 0
            now[0] += 2 * 86400
            assert client.journal_stats().foldable_chunks == chunks_of(client, task)
            wait_for(lambda: chunks_of(client, task) == 0, timeout=30)
            wait_for(
                lambda: any(
                    isinstance(x.event, e.JournalCompacted) and x.event.client == "retention"
                    for x in client.replay(1, limit=5000).events
                )
            )

    def test_bad_ages_are_refused(self, daemon: Any) -> None:
        """A negative or non-finite age is a bad request, and nothing is folded."""
        d = daemon()
        with d.client() as client:
            for bad in (-1.0, float("nan"), float("inf")):
                with pytest.raises(ServerError, match="older_than_days"):
                    client.journal_compact(bad)


def chunks_of_envs(envs: list[Any]) -> int:
    return sum(isinstance(x.event, e.LlmChunk) for x in envs)


class TestExportAndBackup:
    def test_export_by_task_and_time_is_paged_and_journaled(self, daemon: Any) -> None:
        """Pages cover exactly the task's events up to the first page's head; the export is journaled."""
        d = daemon()
        with d.client() as client:
            first = run_task(client, "first")
            cut = time.time()
            second = run_task(client, "second")
            page = client.journal_export(task_id=first, limit=7)
            end = page.head
            got = list(page.events)
            while page.next_seq <= end:
                page = client.journal_export(task_id=first, from_seq=page.next_seq, to_seq=end, limit=7)
                got += page.events
            assert [x.seq for x in got] == [x.seq for x in client.replay(1, task_id=first, limit=5000).events]
            later = client.journal_export(since=cut, limit=5000).events
            assert {x.task_id for x in later if x.task_id} == {second}
            journaled = [x.event for x in client.replay(end + 1, limit=5000).events]
            assert any(isinstance(x, e.JournalExported) and x.task_id == first and x.to_seq == end for x in journaled)
            with pytest.raises(ServerError, match="no task"):
                client.journal_export(task_id="t-nope")

    def test_backup_while_running_restores_fully(self, daemon: Any, short_tmp: Path) -> None:
        """A backup through the daemon decodes fully; a bad path is a clear error."""
        d = daemon()
        with d.client() as client:
            run_task(client, "something")
            head = client.status().head
            reply = client.journal_backup(str(short_tmp / "backup.sqlite"))
            assert reply.head >= head
            with pytest.raises(ServerError, match="exists"):
                client.journal_backup(str(short_tmp / "backup.sqlite"))
            with pytest.raises(ServerError, match="absolute"):
                client.journal_backup("relative.sqlite")
            assert client.journal_backup(str(short_tmp / "backup.sqlite"), overwrite=True).head >= reply.head
        copy = Journal(short_tmp / "backup.sqlite")
        envs = read_envelopes(copy)
        copy.close()
        assert [x.seq for x in envs] == list(range(1, envs[-1].seq + 1))
        assert not copy.corrupt


class TestReset:
    def test_reset_refuses_open_tasks_then_starts_over_with_seqs_going_on(
        self, daemon: Any, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """Open tasks block it; afterwards tasks, schedules, watches and memory are gone and seqs continue."""
        d = daemon()
        with d.client() as client:
            run_task(client, "before")
            waiting = open_task(client)
            client.memory_add("a note to lose", ["x"])
            client.schedule_add("every morning", cron="0 8 * * *", tz="UTC")
            (short_tmp / "watched").mkdir()
            client.memory_watch([str(short_tmp / "watched")])
            with pytest.raises(ServerError, match="still open"):
                client.reset()
            client.cancel(waiting)
            wait_for(lambda: client.task(waiting).status == "cancelled")
            head = client.status().head
            reply = client.reset()
            assert reply.events >= head - 5
            assert reply.memory_items == 2, "the note and what the task remembered"
            assert reply.seq > head
            events = client.replay(1, limit=5000).events
            assert isinstance(events[0].event, e.JournalReset)
            assert events[0].seq == reply.seq
            assert client.tasks() == []
            assert client.schedules(removed=True) == []
            assert client.memory_watches() == []
            assert client.memory_stats().items == 0
            new = client.submit("after").task_id
            assert [t.task_id for t in client.tasks()] == [new]
        d.stop()
        again = daemon_factory(d.config)
        with again.client() as client:
            assert client.status().head > reply.seq
            assert [t.task_id for t in client.tasks()] == [new]
