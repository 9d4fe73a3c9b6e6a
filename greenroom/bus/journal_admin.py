"""Journal administration: statistics, online backup, wiping (for a reset).

``backup`` uses SQLite's online backup API on a connection of its own: the copy
is one consistent snapshot taken in a single step, while the bus writer goes on
committing (WAL lets a reader and the writer work at once). The copy is written
beside its destination and renamed into place, so a failed or interrupted backup
never leaves a half-written file under the name asked for.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

from greenroom.bus.errors import JournalError
from greenroom.bus.journal import SCHEMA_VERSION, Journal, create_private_file
from greenroom.bus.protocol_lifecycle import JournalStats
from greenroom.bus.scrub import checkpoint


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def stats(journal: Journal) -> JournalStats:
    """Counts by type, seq and time range, file sizes (read on this thread's reader)."""
    conn = journal.reader()
    by_type = dict(conn.execute("SELECT type, COUNT(*) FROM events GROUP BY type").fetchall())
    first, oldest, newest = conn.execute("SELECT MIN(seq), MIN(ts), MAX(ts) FROM events").fetchone()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    path = journal.path
    return JournalStats(
        head=journal.head, events=sum(by_type.values()), first_seq=first or 0, by_type=by_type, oldest=oldest,
        newest=newest, db_bytes=_size(path), wal_bytes=_size(path.with_name(path.name + "-wal")),
        free_bytes=free * page_size, schema_version=SCHEMA_VERSION,
    )  # fmt: skip


def chunk_counts(journal: Journal) -> dict[str, int]:
    """``llm.chunk`` events per task (tasks only)."""
    sql = "SELECT task_id, COUNT(*) FROM events WHERE type = 'llm.chunk' AND task_id IS NOT NULL GROUP BY task_id"
    return dict(journal.reader().execute(sql).fetchall())


def check_destination(dest: Path, journal: Journal, overwrite: bool) -> Path:
    """``dest`` if a backup may be written there.

    Raises:
        JournalError: not absolute, no such folder, already there (without ``overwrite``), or the journal itself.
    """
    if "\0" in str(dest) or not dest.is_absolute():
        raise JournalError(f"the backup path must be absolute, got {str(dest)[:200]!r}")
    if not dest.parent.is_dir():
        raise JournalError(f"no folder {dest.parent} to put the backup in")
    own = journal.path.resolve()
    target = dest.resolve()
    if target in (own, own.with_name(own.name + "-wal"), own.with_name(own.name + "-shm")):
        raise JournalError(f"{dest} is the journal itself")
    if dest.is_dir():
        raise JournalError(f"{dest} is a folder; give a file name")
    if dest.exists() and not overwrite:
        raise JournalError(f"{dest} exists; choose another name (or overwrite it)")
    return dest


def backup(journal: Journal, dest: Path, overwrite: bool = False) -> tuple[int, int, float]:
    """Copy the journal into ``dest`` (one self-contained file, mode 0600) while it is being written.

    Returns:
        ``(head, bytes, seconds)``: the last seq in the copy, its size, the time taken.

    Raises:
        JournalError: the destination is not usable, or the copy failed (nothing is left behind).
    """
    check_destination(dest, journal, overwrite)
    started = time.perf_counter()
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        create_private_file(partial)
        src = sqlite3.connect(journal.path)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: a consistent snapshot; the writer is not held up
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            (head,) = dst.execute("SELECT MAX(seq) FROM events").fetchone()
            floor = dst.execute("SELECT value FROM meta WHERE key = 'seq_floor'").fetchone()
            ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
            src.close()
        if ok != "ok":
            raise JournalError(f"the copy did not pass SQLite's check: {ok}")
        os.replace(partial, dest)
    except (OSError, sqlite3.Error) as exc:
        raise JournalError(f"backup to {dest} failed: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return max(head or 0, int(floor[0]) if floor else 0), _size(dest), time.perf_counter() - started


def wipe(journal: Journal, conn: sqlite3.Connection) -> int:
    """Remove every event (on the writer: ``Journal.maintain``); seqs go on from the head. Returns the count."""
    (count,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
    conn.execute("BEGIN IMMEDIATE")
    journal.set_seq_floor(conn, journal.head)
    conn.execute("DELETE FROM events")
    conn.execute("COMMIT")
    conn.execute("VACUUM")  # the file shrinks to nothing and no old page survives in it
    checkpoint(conn)
    journal.corrupt.clear()
    return int(count)
