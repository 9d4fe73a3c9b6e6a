from __future__ import annotations

from pathlib import Path

import pytest

from greenroom.memory import MemoryStore


class TestMemoryStore:
    def test_remember_is_idempotent_per_key(self, tmp_path: Path) -> None:
        """The same call key stores one note, however often it runs."""
        s = MemoryStore(tmp_path / "m.sqlite")
        a, created = s.remember("buy milk", [], key="t:1:1:0")
        b, again = s.remember("buy milk", [], key="t:1:1:0")
        assert (a, created, again) == (b, True, False)
        assert s.count() == 1
        s.close()

    def test_recall_ranks_by_shared_words(self, tmp_path: Path) -> None:
        """Notes sharing more words with the query come first."""
        s = MemoryStore(tmp_path / "m.sqlite")
        s.remember("the cat sat on the mat", [], "k1")
        s.remember("dogs bark", [], "k2")
        hits = s.recall("where did the cat sit")
        assert hits[0]["text"] == "the cat sat on the mat"
        assert all(h["text"] != "dogs bark" for h in hits)
        s.close()

    def test_empty_text_is_refused(self, tmp_path: Path) -> None:
        """Empty notes get a clear error; nothing is stored."""
        s = MemoryStore(tmp_path / "m.sqlite")
        with pytest.raises(ValueError, match="empty"):
            s.remember("  ", [], "k")
        assert s.count() == 0
        s.close()
