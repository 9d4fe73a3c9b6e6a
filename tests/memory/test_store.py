from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from greenroom.memory import ItemStore
from greenroom.memory.schema import SCHEMA_VERSION, table_names


class TestSchema:
    def test_new_store_is_at_the_current_version_with_secure_delete(self, tmp_path: Path) -> None:
        store = ItemStore(tmp_path / "m.sqlite")
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.db.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert (tmp_path / "m.sqlite").stat().st_mode & 0o777 == 0o600
        store.close()

    def test_the_spine_note_store_is_migrated(self, tmp_path: Path) -> None:
        """Notes from the first version become items with one chunk, keys kept."""
        path = tmp_path / "m.sqlite"
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT, tags TEXT, source TEXT, created FLOAT, key TEXT)"
        )
        conn.execute("INSERT INTO notes VALUES ('m-1', 'buy milk', '[\"shop\"]', 'tool', 1700000000.0, 't:1:1:0')")
        conn.commit()
        conn.close()
        store = ItemStore(path)
        assert store.migrated_from == 1
        item = store.item_by_key("t:1:1:0")
        assert item is not None
        assert (item["id"], item["tags"], item["created"]) == ("m-1", '["shop"]', 1700000000.0)
        assert [c["text"] for c in store.chunks(store.item_chunk_ids("m-1")).values()] == ["buy milk"]
        assert "notes" not in table_names(store.db)
        store.close()

    def test_a_newer_schema_is_refused_untouched(self, tmp_path: Path) -> None:
        path = tmp_path / "m.sqlite"
        ItemStore(path).close()
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.close()
        with pytest.raises(RuntimeError, match="newer than this greenroom"):
            ItemStore(path)
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        conn.close()

    def test_quality_outside_0_1_is_refused(self, tmp_path: Path) -> None:
        from greenroom.memory import BadMemoryInput

        store = ItemStore(tmp_path / "m.sqlite")
        with pytest.raises(BadMemoryInput, match="quality must be between 0 and 1"):
            store.set_quality("m-x", -0.1)
        store.close()
