"""A reader holding an old snapshot cannot stall the writer, nor keep forgotten bytes in the WAL for good."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from greenroom.actors import TaskIndex
from greenroom.bus import Bus, Journal
from greenroom.bus import events as e
from greenroom.bus.settings import JournalConfig
from greenroom.runtime.journal_ops import JournalOps
from tests.conftest import wait_for

SECRET = "the combination of the garden shed is 4-7-1-1"


def files_holding(root: Path, needle: bytes) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_file() and needle in p.read_bytes())


class TestWalTruncation:
    def test_a_scrub_behind_a_reader_returns_and_the_wal_is_emptied_once_it_leaves(self, tmp_path: Path) -> None:
        """The scrub does not wait on the reader; the WAL is truncated in the background when the reader ends."""
        journal = Journal(tmp_path / "journal.sqlite")
        bus = Bus(journal)
        ops = JournalOps(bus, TaskIndex(), JournalConfig(), None, time.time)
        try:
            for i in range(50):
                bus.publish(e.StepFinished(step=i, result=f"{SECRET} #{i}"), source="test", task_id="t-1")
            bus.flush()
            reader = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT COUNT(*) FROM events").fetchone()  # holds its snapshot

            done = threading.Event()
            changed: list[int] = []
            threading.Thread(target=lambda: (changed.extend(ops.scrub([SECRET])), done.set()), daemon=True).start()
            wait_for(done.is_set, timeout=60)  # the writer never waits seconds per attempt on the reader
            assert len(changed) == 50
            bus.publish(e.LlmChunk(request_id="r", text="later"), source="test", durable=True)  # commits go on
            assert (tmp_path / "journal.sqlite-wal").stat().st_size > 0, "the reader kept the WAL"

            reader.execute("COMMIT")
            reader.close()
            wait_for(lambda: (tmp_path / "journal.sqlite-wal").stat().st_size == 0, timeout=60)
            assert files_holding(tmp_path, SECRET.encode()) == []
        finally:
            ops.close()
            bus.close()
            journal.close()
