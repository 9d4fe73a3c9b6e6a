"""The item store: SQLite, the truth from which both indexes can be rebuilt.

Items (a note, a file, a page, a chat turn, a tool result) own chunks; chunk
ids are the labels of the HNSW index and the ids of the BM25 index, and are
never reused (``AUTOINCREMENT``). Embeddings are cached by the chunk's content
hash, so unchanged text is never embedded twice and a lost HNSW file is rebuilt
without the model. ``secure_delete`` is on: forgotten text is overwritten in
the file, and the WAL is truncated after a forget.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import structlog

from greenroom.bus.scrub import checkpoint
from greenroom.memory.errors import BadMemoryInput
from greenroom.memory.schema import migrate, query, transaction

if TYPE_CHECKING:
    import numpy as np

log = structlog.get_logger(__name__)

Source = Literal["path", "url", "chat", "tool", "note"]
SOURCES: tuple[str, ...] = ("path", "url", "chat", "tool", "note", "task")


@dataclass(frozen=True)
class Filters:
    """Restricts a search or a forget: all given conditions must hold."""

    tags: tuple[str, ...] = ()
    """At least one of these tags."""
    source: str | None = None
    since: float | None = None
    """Updated at or after this Unix time."""
    until: float | None = None
    uri_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.source is not None and self.source not in SOURCES:
            raise BadMemoryInput(f"unknown source {self.source!r}; expected one of {', '.join(SOURCES)}")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise BadMemoryInput("time range is empty: since is after until")

    @property
    def empty(self) -> bool:
        return not (self.tags or self.source or self.since is not None or self.until is not None or self.uri_prefix)

    def where(self) -> tuple[str, list[Any]]:
        """An SQL condition on ``items`` and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.tags:
            marks = ", ".join("?" * len(self.tags))
            clauses.append(f"EXISTS (SELECT 1 FROM json_each(items.tags) WHERE value IN ({marks}))")
            params.extend(self.tags)
        if self.source:
            clauses.append("items.source = ?")
            params.append(self.source)
        if self.since is not None:
            clauses.append("items.updated >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("items.updated <= ?")
            params.append(self.until)
        if self.uri_prefix:
            clauses.append("substr(items.uri, 1, ?) = ?")
            params.extend([len(self.uri_prefix), self.uri_prefix])
        return " AND ".join(clauses) or "1", params


@dataclass
class NewChunk:
    text: str
    """What gets embedded and indexed (the heading path, then the chunk's text)."""
    start: int
    end: int
    heading: str
    tokens: int
    content_hash: str


@dataclass
class NewItem:
    source: str
    content_hash: str
    uri: str | None = None
    title: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    quality: float = 0.5
    file_size: int | None = None
    file_mtime_ns: int | None = None
    created: float | None = None


def _vector_blob(vector: np.ndarray) -> bytes:
    import numpy as np

    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


class ItemStore:
    """Items, chunks and the embedding cache in one SQLite file.

    Thread-safe: one connection behind a lock (the Memory actor, its ingestion
    thread and searches share it; every statement is short).

    Args:
        db_path: the SQLite file; created (mode 0600) if missing.
    """

    WAL_RETRY_S = 5.0
    """A WAL truncation that found the file busy is tried again after a write at most this often."""

    def __init__(self, db_path: Path) -> None:
        from greenroom.bus.journal import create_private_file

        create_private_file(db_path)
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA secure_delete=ON")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.lock = threading.RLock()
        self.migrated_from = migrate(self.db)
        self._wal_deferred: float | None = None  # when a truncation was last found busy

    @contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction under the store's lock (then a deferred WAL truncation, if one is due)."""
        with self.lock:
            with transaction(self.db):
                yield
            self._retry_truncate()

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # --- meta -----------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    # --- items ----------------------------------------------------------------

    def _one(self, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
        with self.lock:
            rows = list(query(self.db, sql, params))
        return rows[0] if rows else None

    def item(self, item_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM items WHERE id = ?", [item_id])

    def item_by_key(self, key: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM items WHERE key = ?", [key])

    def item_by_uri(self, uri: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM items WHERE uri = ? ORDER BY updated DESC", [uri])

    def item_by_hash(self, digest: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM items WHERE content_hash = ?", [digest])

    def items_under(self, root: str) -> list[dict[str, Any]]:
        """File items whose path lies under ``root`` (a folder, with its trailing separator)."""
        with self.lock:
            return list(
                query(
                    self.db,
                    "SELECT id, uri, file_size, file_mtime_ns, content_hash FROM items"
                    " WHERE source = 'path' AND substr(uri, 1, ?) = ?",
                    [len(root), root],
                )
            )

    def item_ids(self, filters: Filters) -> list[str]:
        where, params = filters.where()
        with self.lock:
            return [r[0] for r in self.db.execute(f"SELECT id FROM items WHERE {where}", params)]

    def item_vectors(self, exclude: str | None = None) -> tuple[list[str], np.ndarray]:
        """Every item's mean embedding (for near-duplicate checks)."""
        import numpy as np

        with self.lock:
            rows = self.db.execute(
                "SELECT id, vector FROM items WHERE vector IS NOT NULL AND (? IS NULL OR uri IS NOT ?)",
                [exclude, exclude],
            ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [r[0] for r in rows], np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def insert(self, item: NewItem, chunks: Sequence[NewChunk], vector: np.ndarray | None) -> tuple[str, list[int]]:
        """Store a new item with its chunks in one transaction; return its id and chunk ids."""
        now = time.time()
        item_id = "m-" + uuid.uuid4().hex[:12]
        created = item.created or now
        with self.write():
            self.db.execute(
                "INSERT INTO items (id, source, uri, title, tags, created, updated, quality, content_hash,"
                " metadata, key, file_size, file_mtime_ns, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    item_id, item.source, item.uri, item.title, json.dumps(item.tags), created, created,
                    item.quality, item.content_hash, json.dumps(item.metadata), item.key, item.file_size,
                    item.file_mtime_ns, None if vector is None else _vector_blob(vector),
                ],
            )  # fmt: skip
            ids = self._insert_chunks(item_id, chunks)
        return item_id, ids

    def replace(
        self, item_id: str, item: NewItem, chunks: Sequence[NewChunk], vector: np.ndarray | None
    ) -> tuple[list[int], list[int]]:
        """Replace an item's content and chunks in one transaction; return (old, new) chunk ids.

        The old chunks get tombstones, so the indexes drop them even after a crash.
        """
        with self.write():
            old = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE item_id = ?", [item_id])]
            # New chunks first: cached vectors of text that stays must survive the old chunks' deletion.
            new = self._insert_chunks(item_id, chunks)
            self._delete_chunks(old)
            self.db.execute(
                "UPDATE items SET content_hash = ?, title = ?, updated = ?, file_size = ?, file_mtime_ns = ?,"
                " vector = ?, metadata = ? WHERE id = ?",
                [
                    item.content_hash, item.title, time.time(), item.file_size, item.file_mtime_ns,
                    None if vector is None else _vector_blob(vector), json.dumps(item.metadata), item_id,
                ],
            )  # fmt: skip
        return old, new

    def touch_file(self, item_id: str, size: int, mtime_ns: int) -> None:
        """Record a file's new size and time when its content did not change."""
        with self.lock:
            self.db.execute("UPDATE items SET file_size = ?, file_mtime_ns = ? WHERE id = ?", [size, mtime_ns, item_id])

    def _insert_chunks(self, item_id: str, chunks: Sequence[NewChunk]) -> list[int]:
        ids = []
        for ord_, c in enumerate(chunks):
            cur = self.db.execute(
                "INSERT INTO chunks (item_id, ord, text, start, end, heading, tokens, content_hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [item_id, ord_, c.text, c.start, c.end, c.heading, c.tokens, c.content_hash],
            )
            ids.append(int(cur.lastrowid or 0))
        return ids

    def _delete_chunks(self, chunk_ids: Sequence[int]) -> None:
        if not chunk_ids:
            return
        for start in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[start : start + 500])
            marks = ", ".join("?" * len(part))
            hashes = [r[0] for r in self.db.execute(f"SELECT content_hash FROM chunks WHERE id IN ({marks})", part)]
            self.db.execute(f"DELETE FROM chunks WHERE id IN ({marks})", part)
            self.db.executemany(
                "INSERT OR REPLACE INTO tombstones (chunk_id, pending) VALUES (?, 1)", [[i] for i in part]
            )
            # A cached vector is derived from the text: it goes when no chunk uses that text any more.
            self.db.executemany(
                "DELETE FROM vectors WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM chunks WHERE content_hash = ?)",
                [[h, h] for h in set(hashes)],
            )

    def delete(self, item_ids: Sequence[str]) -> list[int]:
        """Delete items and their chunks and cached vectors; return the chunk ids (now tombstoned)."""
        removed: list[int] = []
        with self.write():
            for start in range(0, len(item_ids), 500):
                part = list(item_ids[start : start + 500])
                marks = ", ".join("?" * len(part))
                chunk_ids = [r[0] for r in self.db.execute(f"SELECT id FROM chunks WHERE item_id IN ({marks})", part)]
                self._delete_chunks(chunk_ids)
                self.db.execute(f"DELETE FROM items WHERE id IN ({marks})", part)
                removed.extend(chunk_ids)
        return removed

    def truncate_wal(self) -> bool:
        """Copy the WAL into the database and empty it, so deleted text is not left in it.

        Another connection holding an old snapshot (a backup, an ``sqlite3`` shell) keeps
        it busy: it waits for that briefly (``checkpoint``), then the truncation is tried
        again after a later write, at most every ``WAL_RETRY_S``, until it succeeds (and
        SQLite empties the WAL when the store closes). Returns whether it was emptied now.
        """
        with self.lock:
            done = checkpoint(self.db)
            self._wal_deferred = None if done else time.monotonic()
        if not done:
            log.warning("memory_wal_truncate_deferred", reason="another connection holds an old snapshot")
        return done

    def _retry_truncate(self) -> None:
        """A deferred truncation, once ``WAL_RETRY_S`` passed since the last try (no wait: a write called it)."""
        if self._wal_deferred is None or time.monotonic() - self._wal_deferred < self.WAL_RETRY_S:
            return
        if self.db.in_transaction:  # a checkpoint inside a transaction fails: the next write tries
            return
        if checkpoint(self.db, wait_ms=0, attempts=1):
            self._wal_deferred = None
            log.info("memory_wal_truncated", deferred=True)
        else:
            self._wal_deferred = time.monotonic()

    def set_quality(self, item_id: str, quality: float) -> bool:
        if not 0 <= quality <= 1:
            raise BadMemoryInput(f"quality must be between 0 and 1, got {quality}")
        with self.lock:
            cur = self.db.execute("UPDATE items SET quality = ? WHERE id = ?", [quality, item_id])
        return cur.rowcount > 0

    def record_access(self, item_ids: Iterable[str]) -> None:
        now = time.time()
        with self.lock:
            self.db.executemany(
                "UPDATE items SET accessed = ?, access_count = access_count + 1 WHERE id = ?",
                [[now, i] for i in set(item_ids)],
            )

    # --- chunks and vectors ---------------------------------------------------

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunks with their item's fields, by chunk id (missing ids are left out)."""
        if not chunk_ids:
            return {}
        marks = ", ".join("?" * len(chunk_ids))
        with self.lock:
            rows = query(
                self.db,
                "SELECT c.id AS chunk_id, c.item_id, c.text, c.start, c.end, c.heading, c.ord, c.tokens,"
                " i.source, i.uri, i.title, i.tags, i.created, i.updated, i.quality, i.access_count, i.metadata"
                f" FROM chunks c JOIN items i ON i.id = c.item_id WHERE c.id IN ({marks})",
                list(chunk_ids),
            )
            return {r["chunk_id"]: r for r in rows}

    def texts(self, batch: int = 2000) -> Iterator[tuple[str, str]]:
        """``(item id, text)`` of every chunk, then ``(item id, title)`` of every titled item."""
        for table, column in (("chunks", "item_id, text"), ("items", "id, title")):
            last = 0
            while True:
                with self.lock:
                    rows = self.db.execute(
                        f"SELECT rowid, {column} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?", [last, batch]
                    ).fetchall()
                if not rows:
                    break
                yield from ((r[1], r[2]) for r in rows if r[2])
                last = rows[-1][0]

    def chunk_ids(self, filters: Filters | None = None) -> np.ndarray:
        import numpy as np

        where, params = (filters or Filters()).where()
        with self.lock:
            rows = self.db.execute(
                f"SELECT c.id FROM chunks c JOIN items ON items.id = c.item_id WHERE {where}", params
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def item_chunk_ids(self, item_id: str) -> list[int]:
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE item_id = ? ORDER BY ord", [item_id])]

    def iter_chunks(self, batch: int = 2000, *, unindexed_only: bool = False) -> Iterator[list[dict[str, Any]]]:
        """All chunks (or those not yet in BM25) with what the indexes need, in batches."""
        last = 0
        cond = "AND c.bm25 = 0" if unindexed_only else ""
        while True:
            with self.lock:
                rows = list(
                    query(
                        self.db,
                        "SELECT c.id, c.text, c.content_hash, i.source, i.tags, i.updated FROM chunks c"
                        f" JOIN items i ON i.id = c.item_id WHERE c.id > ? {cond} ORDER BY c.id LIMIT ?",
                        [last, batch],
                    )
                )
            if not rows:
                return
            yield rows
            last = rows[-1]["id"]

    def mark_all_bm25(self) -> None:
        """Every chunk is in the BM25 index now (called right after its commit, under the engine's lock)."""
        with self.lock:
            self.db.execute("UPDATE chunks SET bm25 = 1 WHERE bm25 = 0")

    def clear_bm25(self) -> None:
        with self.lock:
            self.db.execute("UPDATE chunks SET bm25 = 0")

    def bm25_count(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT count(*) FROM chunks WHERE bm25 = 1").fetchone()[0])

    def cached_vectors(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        import numpy as np

        out: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            part = list(hashes[start : start + 500])
            marks = ", ".join("?" * len(part))
            with self.lock:
                rows = self.db.execute(f"SELECT hash, vector FROM vectors WHERE hash IN ({marks})", part).fetchall()
            out.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
        return out

    def cache_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        with self.lock:
            self.db.executemany(
                "INSERT OR IGNORE INTO vectors (hash, vector) VALUES (?, ?)",
                [[h, _vector_blob(v)] for h, v in vectors.items()],
            )

    def clear_vectors(self) -> None:
        with self.lock:
            self.db.execute("DELETE FROM vectors")
            self.db.execute("UPDATE items SET vector = NULL")

    # --- tombstones -----------------------------------------------------------

    def tombstones(self, *, pending_only: bool = False) -> set[int]:
        sql = "SELECT chunk_id FROM tombstones" + (" WHERE pending = 1" if pending_only else "")
        with self.lock:
            return {r[0] for r in self.db.execute(sql)}

    def settle_tombstones(self, chunk_ids: Iterable[int]) -> None:
        with self.lock:
            self.db.executemany("UPDATE tombstones SET pending = 0 WHERE chunk_id = ?", [[i] for i in chunk_ids])

    def drop_settled_tombstones(self) -> None:
        """After a full HNSW rebuild nothing old is left in it to remember."""
        with self.lock:
            self.db.execute("DELETE FROM tombstones WHERE pending = 0")

    # --- stats ----------------------------------------------------------------

    def is_empty(self) -> bool:
        """No item is stored (a cheap check before searching)."""
        with self.lock:
            return self.db.execute("SELECT 1 FROM items LIMIT 1").fetchone() is None

    def stats(self) -> dict[str, Any]:
        with self.lock:
            by_source = dict(self.db.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
            chunks, tokens = self.db.execute("SELECT count(*), coalesce(sum(tokens), 0) FROM chunks").fetchone()
            vectors = self.db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        return {
            "items": sum(by_source.values()),
            "by_source": by_source,
            "chunks": chunks,
            "tokens": tokens,
            "cached_vectors": vectors,
        }
