"""A corrupt journal row is reported and skipped: it never stops a reader, nor the daemon from starting."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from greenroom.actors import TaskIndex
from greenroom.bus import CORRUPT_EVENT, Bus, Journal, read_envelopes
from greenroom.bus import events as e
from tests.conftest import make_config, plan, wait_for, write_script


def journal_with_a_bad_row(path: Path, bad_seq: int, count: int = 5) -> None:
    """``count`` task events of task t-1, the row ``bad_seq`` overwritten with garbage."""
    journal = Journal(path)
    bus = Bus(journal)
    bus.publish(e.TaskSubmitted(goal="first"), source="t", task_id="t-1")
    for _ in range(count - 1):
        bus.publish(e.TaskStarted(), source="t", task_id="t-1")
    bus.close()
    journal.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE events SET body = ? WHERE seq = ?", (b"\x82\xa3seq\x01\xa2ts\xcf", bad_seq))
    conn.close()


class TestCorruptRows:
    def test_readers_get_a_placeholder_with_the_rows_own_numbering(self, tmp_path: Path) -> None:
        """read_envelopes yields an error placeholder at the corrupt seq and reports it once."""
        path = tmp_path / "j.sqlite"
        journal_with_a_bad_row(path, bad_seq=3)
        journal = Journal(path)
        reported: list[int] = []
        journal.on_corrupt = lambda seq, why: reported.append(seq)
        envs = read_envelopes(journal)
        read_envelopes(journal)
        assert [env.seq for env in envs] == [1, 2, 3, 4, 5]
        bad = envs[2]
        assert isinstance(bad.event, e.Error)
        assert bad.event.code == CORRUPT_EVENT
        assert "journal row 3 (task.started)" in bad.event.message
        assert bad.task_id == "t-1"
        assert reported == [3]
        assert list(journal.corrupt) == [3]
        journal.close()

    def test_the_task_index_skips_the_row(self, tmp_path: Path) -> None:
        """Folding a journal with a corrupt row goes on past it."""
        path = tmp_path / "j.sqlite"
        journal_with_a_bad_row(path, bad_seq=1)
        journal = Journal(path)
        index = TaskIndex()
        index.load(journal)
        assert index.get("t-1") is None, "the submission itself was lost, so the task is unknown"
        assert list(journal.corrupt) == [1]
        journal.close()

    def test_a_subscriber_replaying_past_it_sees_the_placeholder(self, tmp_path: Path) -> None:
        """A subscription that catches up from the journal gets the placeholder, in order."""
        path = tmp_path / "j.sqlite"
        journal_with_a_bad_row(path, bad_seq=2)
        journal = Journal(path)
        bus = Bus(journal)
        sub = bus.subscribe("late", from_seq=1)
        records = sub.drain()
        assert [r.seq for r in records] == [1, 2, 3, 4, 5]
        assert isinstance(records[1].envelope.event, e.Error)
        assert b"corrupt_event" in records[1].raw, "what is delivered decodes (the placeholder's bytes)"
        bus.close()
        journal.close()

    def test_the_daemon_starts_counts_it_and_says_so(self, short_tmp: Path, daemon_factory: Any) -> None:
        """With a corrupt row in its journal the daemon starts, shows the count in status, and journals an error."""
        config = make_config(short_tmp, write_script(short_tmp / "s.json", {"plan": plan("x")}))
        config.data_dir.mkdir(mode=0o700, parents=True)
        journal_with_a_bad_row(config.data_dir / "journal.sqlite", bad_seq=1)
        d = daemon_factory(config)
        with d.client() as c:
            assert c.status().corrupt_events == 1
            errors = wait_for(lambda: [env.event for env in c.replay(6).events if isinstance(env.event, e.Error)])
            assert errors[0].code == CORRUPT_EVENT
            assert "journal row 1" in errors[0].message
            page = c.replay(1, 5)
            assert [env.seq for env in page.events] == [1, 2, 3, 4, 5]
