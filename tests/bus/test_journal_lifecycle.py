"""The journal's lifecycle on its own: schema upgrades, folding chunks, holes, backup, wiping."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from greenroom.bus import Bus, Journal, JournalError, read_envelopes
from greenroom.bus import events as e
from greenroom.bus.fold import fold_taskless, fold_tasks, release_space
from greenroom.bus.journal import SCHEMA_VERSION
from greenroom.bus.journal_admin import backup, wipe
from greenroom.bus.scrub import checkpoint

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "release-0.1"


def generation(bus: Bus, task: str | None, rid: str, words: list[str], finish: bool = True) -> None:
    for w in words:
        bus.publish(e.LlmChunk(request_id=rid, text=w), source="llm", task_id=task)
    if finish:
        bus.publish(e.LlmFinished(request_id=rid, purpose="x", text="".join(words)), source="llm", task_id=task)


class TestUpgrade:
    def test_the_release_fixture_upgrades_and_decodes_fully(self, tmp_path: Path) -> None:
        """The journal a 0.1 daemon wrote opens at the new version, with every event intact."""
        path = tmp_path / "journal.sqlite"
        shutil.copyfile(FIXTURE / "journal.sqlite", path)
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
        journal = Journal(path)
        envs = read_envelopes(journal)
        assert journal.head == 86
        assert [env.seq for env in envs] == list(range(1, 87))
        assert not journal.corrupt
        assert isinstance(envs[39].event, e.MemoryStored)
        journal.close()
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2, "incremental"
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
        conn.close()
        again = Journal(path)
        assert again.head == 86
        again.close()

    def test_a_newer_journal_is_refused(self, tmp_path: Path) -> None:
        """A journal from a newer greenroom is not touched."""
        path = tmp_path / "j.sqlite"
        Journal(path).close()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version=99")
        conn.close()
        with pytest.raises(JournalError, match="schema version 99, newer"):
            Journal(path)


class TestFold:
    def test_chunks_fold_into_their_finished_event_and_interrupted_ones_stay(self, tmp_path: Path) -> None:
        """A finished generation's chunks go; an interrupted one's stay; llm.finished counts what it took."""
        journal = Journal(tmp_path / "j.sqlite")
        bus = Bus(journal)
        bus.publish(e.TaskStarted(), source="x", task_id="t-1")
        generation(bus, "t-1", "t-1:plan", ["a", "b", "c"], finish=False)  # interrupted by a restart
        bus.publish(e.TaskStarted(resumed=True), source="x", task_id="t-1")
        generation(bus, "t-1", "t-1:plan", ["d", "e"])
        generation(bus, "t-2", "t-2:plan", ["x", "y"])
        generation(bus, None, "-:chat:1", ["p", "q"])
        bus.flush()
        count = journal.maintain(lambda conn: fold_tasks(conn, ["t-1"]))
        taskless = journal.maintain(lambda conn: fold_taskless(conn, float("inf"), journal.head))
        journal.maintain(release_space)
        envs = read_envelopes(journal)
        bus.close()
        journal.close()
        assert (count.chunks, count.finished, taskless.chunks) == (2, 1, 2)
        kept = [(env.task_id, env.event.text) for env in envs if isinstance(env.event, e.LlmChunk)]
        assert kept == [("t-1", "a"), ("t-1", "b"), ("t-1", "c"), ("t-2", "x"), ("t-2", "y")]
        finished = {env.event.request_id: env.event for env in envs if isinstance(env.event, e.LlmFinished)}
        assert (finished["t-1:plan"].folded, finished["t-1:plan"].text) == (2, "de")
        assert finished["t-2:plan"].folded == 0
        assert finished["-:chat:1"].folded == 2

    def test_folding_gives_the_space_back_to_the_file_system(self, tmp_path: Path) -> None:
        """After a fold, the incremental vacuum and a checkpoint, the file is a fraction of its size."""
        journal = Journal(tmp_path / "j.sqlite")
        bus = Bus(journal)
        for t in range(20):
            generation(bus, f"t-{t}", f"t-{t}:x", [f"token number {i} " for i in range(500)])
        bus.flush()
        journal.maintain(checkpoint)
        before = (tmp_path / "j.sqlite").stat().st_size
        journal.maintain(lambda conn: fold_tasks(conn, [f"t-{t}" for t in range(20)]))
        journal.maintain(release_space)
        journal.maintain(checkpoint)
        after = (tmp_path / "j.sqlite").stat().st_size
        bus.close()
        journal.close()
        assert after < before / 4, (before, after)

    def test_a_subscriber_replays_across_the_holes(self, tmp_path: Path) -> None:
        """A subscription from seq 1 gets every remaining event in order, stepping over folded seqs."""
        journal = Journal(tmp_path / "j.sqlite")
        bus = Bus(journal)
        for i in range(30):
            generation(bus, f"t-{i}", f"t-{i}:plan", ["a", "b", "c"])
        bus.flush()
        journal.maintain(lambda conn: fold_tasks(conn, [f"t-{i}" for i in range(0, 30, 2)]))
        remaining = [env.seq for env in read_envelopes(journal)]
        sub = bus.subscribe("late", from_seq=1, maxsize=4)
        bus.publish(e.TaskStarted(), source="x", task_id="t-new")
        got = []
        while len(got) < len(remaining) + 1:
            rec = sub.get(timeout=10)
            assert rec is not None
            got.append(rec.seq)
        bus.close()
        journal.close()
        assert got == [*remaining, remaining[-1] + 1]
        assert len(remaining) == 120 - 15 * 3


class TestBackupAndWipe:
    def test_a_backup_during_a_burst_of_10000_events_is_whole(self, tmp_path: Path) -> None:
        """Taken while 10,000 events pour in, the copy decodes fully up to at least the head at its start."""
        journal = Journal(tmp_path / "j.sqlite")
        bus = Bus(journal)
        for i in range(2000):
            bus.publish(e.LlmChunk(request_id="t-0:x", text=f"warm {i}"), source="llm", task_id="t-0")
        bus.flush()
        started = threading.Event()

        def burst() -> None:
            started.set()
            for i in range(10_000):
                bus.publish(e.LlmChunk(request_id="t-1:x", text=f"token {i} " * 4), source="llm", task_id="t-1")

        writer = threading.Thread(target=burst)
        writer.start()
        started.wait()
        head_at_start = bus.head
        head, size, _seconds = backup(journal, tmp_path / "copy.sqlite")
        writer.join()
        bus.flush()
        final = bus.head
        bus.close()
        journal.close()
        copy = Journal(tmp_path / "copy.sqlite")
        envs = read_envelopes(copy)
        copy.close()
        assert not copy.corrupt
        assert head >= head_at_start >= 2000
        assert [env.seq for env in envs] == list(range(1, head + 1))
        assert size == (tmp_path / "copy.sqlite").stat().st_size
        assert not (tmp_path / "copy.sqlite-wal").exists(), "one self-contained file"
        assert final == 12_000

    def test_backup_refuses_bad_destinations(self, tmp_path: Path) -> None:
        """Relative paths, missing folders, folders, existing files and the journal itself are refused."""
        journal = Journal(tmp_path / "j.sqlite")
        (tmp_path / "taken").write_text("x")
        for dest, why in (
            (Path("rel.sqlite"), "absolute"),
            (tmp_path / "nope" / "b.sqlite", "no folder"),
            (tmp_path, "is a folder"),
            (tmp_path / "taken", "exists"),
            (tmp_path / "j.sqlite", "the journal itself"),
            (tmp_path / "j.sqlite-wal", "the journal itself"),
        ):
            with pytest.raises(JournalError, match=why):
                backup(journal, dest, overwrite=why == "the journal itself")
        assert (tmp_path / "taken").read_text() == "x"
        assert not list(tmp_path.glob(".*partial"))
        journal.close()

    def test_a_wiped_journal_keeps_counting(self, tmp_path: Path) -> None:
        """After a wipe nothing is left, and seqs go on from the old head, across a reopen too."""
        journal = Journal(tmp_path / "j.sqlite")
        bus = Bus(journal)
        generation(bus, "t-1", "t-1:x", ["secret words"] * 50)
        bus.flush()
        removed = bus.exclusive(lambda j: j.maintain(lambda conn: wipe(j, conn)))
        assert removed == 51
        assert bus.publish(e.TaskStarted(), source="x", task_id="t-2", durable=True).seq == 52
        bus.close()
        journal.close()
        assert b"secret words" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
        again = Journal(tmp_path / "j.sqlite")
        assert again.head == 52
        assert [env.seq for env in read_envelopes(again)] == [52]
        again.close()
