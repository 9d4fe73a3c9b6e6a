from __future__ import annotations

import stat
from pathlib import Path

import pytest

from greenroom.bus import Journal, JournalError


def _rows(start: int, n: int, task: str | None = "t-1") -> list[tuple[int, float, str, str | None, bytes]]:
    return [(s, 0.0, "llm.chunk", task, b"x%d" % s) for s in range(start, start + n)]


class TestJournal:
    def test_append_and_read_ranges(self, tmp_path: Path) -> None:
        """Rows come back in seq order, bounded by from/to/limit."""
        j = Journal(tmp_path / "j.sqlite")
        j.append(_rows(1, 10))
        assert j.head == 10
        assert [s for s, _ in j.read(3, 5)] == [3, 4, 5]
        assert [s for s, _ in j.read(8)] == [8, 9, 10]
        assert [s for s, _ in j.read(1, limit=2)] == [1, 2]
        j.close()

    def test_read_by_task_and_type(self, tmp_path: Path) -> None:
        """Replay by task returns only that task's events."""
        j = Journal(tmp_path / "j.sqlite")
        j.append(_rows(1, 3, "a") + _rows(4, 3, "b"))
        assert [s for s, _ in j.read(task_id="b")] == [4, 5, 6]
        assert j.read(types=["task.submitted"]) == []
        j.close()

    def test_head_survives_reopen(self, tmp_path: Path) -> None:
        """A reopened journal continues from its last seq."""
        j = Journal(tmp_path / "j.sqlite")
        j.append(_rows(1, 5))
        j.close()
        assert Journal(tmp_path / "j.sqlite").head == 5

    def test_duplicate_seq_is_rejected_and_nothing_is_lost(self, tmp_path: Path) -> None:
        """A batch that would reuse a seq fails whole; earlier rows stay."""
        j = Journal(tmp_path / "j.sqlite")
        j.append(_rows(1, 3))
        with pytest.raises(JournalError, match="journal write failed"):
            j.append(_rows(3, 2))
        assert [s for s, _ in j.read()] == [1, 2, 3]
        j.close()

    def test_database_file_is_private(self, tmp_path: Path) -> None:
        """The journal and its WAL are mode 0600."""
        j = Journal(tmp_path / "j.sqlite")
        j.append(_rows(1, 1))
        for name in ("j.sqlite", "j.sqlite-wal"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        j.close()

    def test_not_a_database_gives_a_clear_error(self, tmp_path: Path) -> None:
        """A corrupt file is reported, not silently replaced."""
        path = tmp_path / "j.sqlite"
        path.write_bytes(b"this is not sqlite" * 100)
        with pytest.raises(JournalError, match="cannot open journal"):
            Journal(path)
        assert path.read_bytes().startswith(b"this is not sqlite")


class TestSingleRowAppend:
    def test_one_row_is_committed_alone(self, tmp_path: Path) -> None:
        """A one-row batch (the single-event path) is durable and readable like any batch."""
        j = Journal(tmp_path / "j.sqlite")
        j.append(_rows(1, 1))
        j.append(_rows(2, 3))
        j.append(_rows(5, 1))
        assert j.head == 5
        assert [s for s, _ in j.read()] == [1, 2, 3, 4, 5]
        j.close()
        assert [s for s, _ in Journal(tmp_path / "j.sqlite").read()] == [1, 2, 3, 4, 5]

    def test_a_failed_single_row_changes_nothing(self, tmp_path: Path) -> None:
        """A row that cannot be written (its seq exists) is an error and the head stays."""
        j = Journal(tmp_path / "j.sqlite")
        j.append(_rows(1, 2))
        with pytest.raises(JournalError):
            j.append(_rows(2, 1))
        assert j.head == 2
        assert [s for s, _ in j.read()] == [1, 2]
        j.close()
