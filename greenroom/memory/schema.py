"""The memory database's schema and its versioned migrations.

``PRAGMA user_version`` holds the schema version; each migration runs once, in
its own transaction, in order. Add a migration to change the schema — never
edit one that has shipped.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SCHEMA_VERSION = 2

_V2 = """
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    uri TEXT,
    title TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    accessed REAL,
    access_count INTEGER NOT NULL DEFAULT 0,
    quality REAL NOT NULL DEFAULT 0.5 CHECK (quality >= 0 AND quality <= 1),
    content_hash TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    key TEXT UNIQUE,
    file_size INTEGER,
    file_mtime_ns INTEGER,
    vector BLOB
);
CREATE INDEX items_source ON items(source);
CREATE INDEX items_uri ON items(uri);
CREATE INDEX items_hash ON items(content_hash);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    heading TEXT NOT NULL DEFAULT '',
    tokens INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    bm25 INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chunks_item ON chunks(item_id);
CREATE INDEX chunks_hash ON chunks(content_hash);
CREATE INDEX chunks_unindexed ON chunks(bm25) WHERE bm25 = 0;
CREATE TABLE vectors (hash TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE tombstones (chunk_id INTEGER PRIMARY KEY, pending INTEGER NOT NULL DEFAULT 1);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def query(db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
    """The rows of ``sql`` as dicts keyed by column name."""
    cur = db.execute(sql, params)
    names = [d[0] for d in cur.description or ()]
    for row in cur:
        yield dict(zip(names, row, strict=True))


def table_names(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (the connection is in autocommit mode otherwise)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _v1(db: sqlite3.Connection) -> None:
    # Version 1 was the spine's note store; its ``notes`` table is created here
    # only so that the next step has one shape to migrate from.
    db.execute(
        "CREATE TABLE IF NOT EXISTS notes"
        " (id TEXT PRIMARY KEY, text TEXT, tags TEXT, source TEXT, created FLOAT, key TEXT)"
    )


def _v2(db: sqlite3.Connection) -> None:
    """Items, chunks and the index bookkeeping; notes become items (indexed on next open)."""
    for statement in _V2.split(";"):
        if statement.strip():
            db.execute(statement)
    from greenroom.memory.chunking import content_hash

    for note in list(query(db, "SELECT * FROM notes")):
        created = note["created"] or time.time()
        text = note["text"] or ""
        if not text.strip():
            continue
        digest = content_hash(text)
        item_id = note["id"] or "m-" + uuid.uuid4().hex[:12]
        db.execute(
            "INSERT INTO items (id, source, tags, created, updated, content_hash, key)"
            " VALUES (?, 'note', ?, ?, ?, ?, ?)",
            [item_id, note["tags"] or json.dumps([]), created, created, digest, note["key"]],
        )
        db.execute(
            "INSERT INTO chunks (item_id, ord, text, start, end, tokens, content_hash) VALUES (?, 0, ?, 0, ?, ?, ?)",
            [item_id, text, len(text), len(text.split()), digest],
        )
    db.execute("DROP TABLE notes")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2]


def migrate(db: sqlite3.Connection) -> int:
    """Bring ``db`` to :data:`SCHEMA_VERSION`; return the version it was at.

    Raises:
        RuntimeError: the file was written by a newer greenroom.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == 0 and "notes" in table_names(db):
        version = 1  # the spine's store never set user_version
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"memory database schema is version {version}, newer than this greenroom ({SCHEMA_VERSION});"
            " upgrade greenroom"
        )
    start = version
    for number, step in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        with transaction(db):
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
    return start
