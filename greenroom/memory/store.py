"""A simple note store in SQLite (the memory engine issue replaces its internals).

Notes carry the idempotency key of the call that stored them, so a
``memory.remember`` re-run after a crash returns the existing note instead of
storing it twice.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlite_utils

from greenroom.bus.journal import create_private_file
from greenroom.policy.guards import redact


class MemoryStore:
    """Notes with tags, searchable by words.

    Args:
        db_path: the SQLite file (``secure_delete`` on, so forgotten text is overwritten).
    """

    def __init__(self, db_path: Path) -> None:
        create_private_file(db_path)
        # Actors call in from their own threads; the lock below serialises access.
        self._db = sqlite_utils.Database(sqlite3.connect(db_path, check_same_thread=False))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._lock = threading.Lock()
        notes = self._db.table("notes")
        notes.create(
            {"id": str, "text": str, "tags": str, "source": str, "created": float, "key": str},
            pk="id",
            if_not_exists=True,
        )
        notes.create_index(["key"], unique=True, if_not_exists=True)

    def remember(self, text: str, tags: list[str], key: str, source: str = "tool") -> tuple[str, bool]:
        """Store a note (secrets redacted first); return ``(id, created)``. The same ``key`` twice stores it once."""
        if not text.strip():
            raise ValueError("cannot remember empty text")
        text, _ = redact(text)
        with self._lock:
            existing = list(self._db.table("notes").rows_where("key = ?", [key]))
            if existing:
                return existing[0]["id"], False
            item_id = "m-" + uuid.uuid4().hex[:10]
            self._db.table("notes").insert(
                {
                    "id": item_id,
                    "text": text,
                    "tags": json.dumps(tags),
                    "source": source,
                    "created": time.time(),
                    "key": key,
                }
            )
            return item_id, True

    def recall(self, query: str, limit: int = 5) -> list[dict[str, Any]]:
        """Notes sharing the most words with ``query``, newest first among equals."""
        words = {w for w in re.findall(r"\w+", query.lower()) if len(w) > 1}
        with self._lock:
            rows = list(self._db.table("notes").rows)
        scored = []
        for row in rows:
            text = row["text"].lower()
            score = sum(1 for w in words if w in text)
            if score or not words:
                scored.append((score, row["created"], row))
        scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
        return [
            {"id": r["id"], "text": r["text"], "tags": json.loads(r["tags"]), "score": s} for s, _, r in scored[:limit]
        ]

    def forget(self, item_id: str) -> bool:
        """Delete a note (overwritten on disk: ``secure_delete`` is on). False if there was none."""
        with self._lock:
            table = self._db.table("notes")
            before = table.count
            table.delete_where("id = ?", [item_id])
            return table.count < before

    def get(self, item_id: str) -> dict[str, Any] | None:
        with self._lock:
            rows = list(self._db.table("notes").rows_where("id = ?", [item_id]))
        return rows[0] if rows else None

    def count(self) -> int:
        with self._lock:
            return self._db.table("notes").count

    def close(self) -> None:
        self._db.close()
