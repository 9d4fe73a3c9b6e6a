"""The SQLite event journal: the single source of truth.

One writer (the bus's writer thread) appends batches in single transactions;
readers on any thread get their own connection (WAL lets them read while the
writer writes). ``synchronous=NORMAL`` in WAL mode survives a process crash
(``kill -9``) without losing committed batches; only a power loss can drop the
last few, and nobody outside the process has seen those (see ``Bus``).

Schema versions (``PRAGMA user_version``), each upgrade run once, in order:

1. ``events(seq, ts, type, task_id, body)`` and the per-task index.
2. a ``meta`` table (``seq_floor``: the highest seq ever given out, so a reset
   journal never numbers again from 1) and ``auto_vacuum=INCREMENTAL``, so pages
   freed by compaction go back to the file system in small steps.

The writer connection runs with ``secure_delete``: a row rewritten or deleted
(a forgotten note scrubbed, chunks folded) is overwritten in the file, not just
unlinked. Rewrites happen only through ``maintain`` on the writer thread
(``Bus.exclusive``); seq numbers never change.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from greenroom.bus.errors import JournalError

T = TypeVar("T")

SCHEMA_VERSION = 2

_V1 = """
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY,
    ts      REAL NOT NULL,
    type    TEXT NOT NULL,
    task_id TEXT,
    body    BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_task ON events (task_id, seq) WHERE task_id IS NOT NULL;
"""

_INSERT = "INSERT INTO events (seq, ts, type, task_id, body) VALUES (?, ?, ?, ?, ?)"
_V2 = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


def _upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` to ``SCHEMA_VERSION``, one step at a time."""
    if version < 1:
        conn.executescript(_V1)
        conn.execute("PRAGMA user_version=1")
    if version < 2:
        conn.executescript(_V2)
        # auto_vacuum changes only through a VACUUM (cheap on a new file; once on an old one).
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("VACUUM")
        conn.execute("PRAGMA user_version=2")


Row = tuple[int, float, str, "str | None", bytes]
"""A journal row: (seq, ts, type, task_id, msgpack body of the envelope)."""


def create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 if missing (before SQLite opens it).

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so
    this keeps all three private.
    """
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Journal:
    """An append-only, seq-numbered event log in one SQLite file.

    Args:
        path: the database file; created (mode 0600) if missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            create_private_file(self.path)
            self._writer = _connect(self.path)
            version = self._writer.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"journal {self.path} has schema version {version}, newer than this "
                    f"greenroom understands ({SCHEMA_VERSION}); upgrade greenroom"
                )
            if version < SCHEMA_VERSION:
                _upgrade(self._writer, version)
            self._writer.execute("PRAGMA secure_delete=ON")
            row = self._writer.execute("SELECT MAX(seq) FROM events").fetchone()
            floor = self._writer.execute("SELECT value FROM meta WHERE key = 'seq_floor'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        self._head = max(row[0] or 0, int(floor[0]) if floor else 0)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.corrupt: dict[int, str] = {}
        """Rows found undecodable so far (seq -> why): skipped by readers, counted in status."""
        self.on_corrupt: Callable[[int, str], None] | None = None
        """Called once per corrupt row when a reader first finds it (the runtime reports it)."""

    @property
    def head(self) -> int:
        """The seq of the last committed event (0 when empty)."""
        return self._head

    def append(self, rows: Sequence[Row]) -> None:
        """Commit ``rows`` in one transaction. Call from one thread only (the writer).

        Raises:
            JournalError: the batch could not be written; nothing of it was committed.
        """
        if not rows:
            return
        conn = self._writer
        try:
            if len(rows) == 1:  # one statement in autocommit is its own transaction: 2 statements fewer
                conn.execute(_INSERT, rows[0])
            else:
                conn.execute("BEGIN")
                conn.executemany(_INSERT, rows)
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise JournalError(f"journal write failed: {exc}") from exc
        self._head = rows[-1][0]

    def maintain(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` with the writer connection (rewrites, deletes, checkpoints).

        Call only on the writer thread (``Bus.exclusive``), so nothing else writes meanwhile.
        ``fn`` manages its own transactions; a failure rolls back what it left open.
        """
        conn = self._writer
        try:
            return fn(conn)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def set_seq_floor(self, conn: sqlite3.Connection, seq: int) -> None:
        """Record ``seq`` as given out (inside the caller's transaction): the head never goes below it."""
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq_floor', ?)", [str(seq)])

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def report_corrupt(self, seq: int, why: str) -> None:
        """Record that row ``seq`` cannot be decoded (readers call this; reported once per row)."""
        with self._readers_lock:
            if seq in self.corrupt:
                return
            self.corrupt[seq] = why
        if self.on_corrupt is not None:
            self.on_corrupt(seq, why)

    def read(
        self,
        from_seq: int = 1,
        to_seq: int | None = None,
        *,
        task_id: str | None = None,
        types: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[tuple[int, bytes]]:
        """Committed events as ``(seq, body)`` in seq order, ``from_seq <= seq <= to_seq``.

        Args:
            from_seq: first seq to return.
            to_seq: last seq to return (inclusive); ``None`` for "up to the head".
            task_id: only this task's events.
            types: only events of these types.
            limit: at most this many.
        """
        return self._select("seq, body", from_seq, to_seq, task_id, types, limit)

    def read_rows(
        self,
        from_seq: int = 1,
        to_seq: int | None = None,
        *,
        task_id: str | None = None,
        types: Iterable[str] | None = None,
        limit: int | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Row]:
        """As ``read``, but whole rows: ``(seq, ts, type, task_id, body)``; ``since``/``until`` bound ``ts``."""
        return self._select("seq, ts, type, task_id, body", from_seq, to_seq, task_id, types, limit, since, until)

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (for scans the methods here do not offer; never write with it)."""
        return self._reader()

    def _select(
        self,
        columns: str,
        from_seq: int,
        to_seq: int | None,
        task_id: str | None,
        types: Iterable[str] | None,
        limit: int | None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Any]:
        sql = f"SELECT {columns} FROM events WHERE seq >= ?"
        params: list[object] = [from_seq]
        for bound, op in ((since, ">="), (until, "<=")):
            if bound is not None:
                sql += f" AND ts {op} ?"
                params.append(bound)
        if to_seq is not None:
            sql += " AND seq <= ?"
            params.append(to_seq)
        if task_id is not None:
            sql += " AND task_id = ?"
            params.append(task_id)
        if types is not None:
            kinds = list(types)
            sql += f" AND type IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._reader().execute(sql, params).fetchall()

    def close(self) -> None:
        """Close every connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._writer.close()
