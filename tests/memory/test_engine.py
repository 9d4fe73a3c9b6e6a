from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from greenroom.memory import BadMemoryInput, Filters
from greenroom.memory.store import ItemStore
from tests.memory.conftest import files_containing

NOTES = [
    "The quarterly marketing budget is 40k euros, approved by Dana.",
    "Our cat Miso likes to sleep on the warm laptop keyboard.",
    "Error code XJ-4471 means the backup disk is full.",
    "To renew the passport, book an appointment at the town hall.",
    "The dentist appointment moved to Thursday at 9am.",
]


class TestHybridSearch:
    def test_hybrid_finds_what_only_one_retriever_finds(self, engine_factory: Any) -> None:
        """At one candidate per retriever: a paraphrase only dense finds and a code only BM25 ranks first both come back."""
        engine = engine_factory(candidates=1)
        for note in NOTES:
            engine.add(note)
        for code in ["XJ-4417", "XJ-4477", "XJ-4741", "XJ-7441", "XJ-1447"]:  # look-alikes confuse the embedding
            engine.add(f"Error code {code} means the backup disk is failing.")
        rows = engine.store.chunks([int(i) for i in engine.store.chunk_ids()])

        paraphrase = "pet dozing atop computer"
        assert engine.keyword.search(paraphrase, 5) == [], "no word of the paraphrase is in any note"
        (dense_top,) = engine.dense.search(engine.embedder.embed_query(paraphrase), 1)
        assert "Miso" in rows[dense_top[0]]["text"]
        hit = engine.search(paraphrase, k=1).hits[0]
        assert hit.chunk_id == dense_top[0]
        assert (hit.scores.dense_rank, hit.scores.bm25) == (1, None)

        code = "XJ-4471"
        (bm25_top,) = engine.keyword.search(code, 1)
        (dense_top,) = engine.dense.search(engine.embedder.embed_query(code), 1)
        assert "XJ-4471" in rows[bm25_top[0]]["text"]
        assert "XJ-4471" not in rows[dense_top[0]]["text"], "dense alone ranks a look-alike first"
        hit = engine.search(code, k=1).hits[0]
        assert "XJ-4471 means the backup disk is full" in hit.text
        assert hit.scores.bm25_rank == 1

    def test_hits_carry_scores_and_provenance(self, engine_factory: Any) -> None:
        """Every hit says where it came from and how each stage scored it."""
        engine = engine_factory()
        item_id, _ = engine.add(NOTES[0], tags=["work"], source="chat", uri="chat://t-1")
        hit = engine.search("marketing budget", k=1).hits[0]
        assert (hit.item_id, hit.source, hit.uri, hit.tags) == (item_id, "chat", "chat://t-1", ["work"])
        s = hit.scores
        assert s.dense is not None
        assert s.bm25 is not None
        assert s.fused > 0
        assert s.final == pytest.approx(0.8 * s.relevance + 0.1 * s.recency + 0.1 * s.quality)
        assert engine.store.item(item_id)["access_count"] == 1

    def test_filters_by_tag_source_and_time(self, engine_factory: Any) -> None:
        """Filters apply to both retrievers; a filter that matches nothing returns nothing."""
        engine = engine_factory()
        a, _ = engine.add("appointment with the dentist on Thursday", tags=["health"])
        b, _ = engine.add("appointment at the town hall for the passport", tags=["admin"], source="chat")
        q = "appointment"
        assert {h.item_id for h in engine.search(q, filters=Filters(tags=("health",))).hits} == {a}
        assert {h.item_id for h in engine.search(q, filters=Filters(source="chat")).hits} == {b}
        assert engine.search(q, filters=Filters(since=time.time() + 60)).hits == []
        assert {h.item_id for h in engine.search(q, filters=Filters(until=time.time() + 60)).hits} == {a, b}
        with pytest.raises(BadMemoryInput, match="unknown source 'fax'"):
            Filters(source="fax")

    def test_quality_and_recency_shift_the_final_order(self, engine_factory: Any) -> None:
        """With equal relevance, the higher-quality and the newer item win."""
        engine = engine_factory(alpha=0.0, beta=0.5, gamma=0.5)
        old, _ = engine.add("tomato watering schedule, version one")
        new, _ = engine.add("tomato watering schedule, version two")
        engine.store.db.execute("UPDATE items SET updated = ? WHERE id = ?", [time.time() - 90 * 86400, old])
        assert engine.search("tomato watering", k=2).hits[0].item_id == new
        engine.set_quality(old, 1.0)
        engine.set_quality(new, 0.0)
        assert engine.search("tomato watering", k=2).hits[0].item_id == old


class TestRemember:
    def test_same_key_or_same_text_stores_once(self, engine_factory: Any) -> None:
        """A call re-run after a crash, or the same text twice, keeps one item."""
        engine = engine_factory()
        a, created = engine.add("buy oat milk", key="t:1:1:0")
        b, again = engine.add("buy oat milk", key="t:1:1:0")
        c, dup = engine.add("buy oat milk")
        assert created
        assert not again
        assert not dup
        assert a == b == c
        assert engine.stats().items == 1

    def test_secrets_are_redacted_before_storing(self, engine_factory: Any, tmp_path: Path) -> None:
        """A token in a note never reaches the database or the indexes."""
        engine = engine_factory()
        secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
        engine.add(f"the deploy token is {secret}")
        engine.close()
        assert files_containing(tmp_path, secret.encode()) == []

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"text": ""}, "empty text"),
            ({"text": "   \n"}, "empty text"),
            ({"text": "x", "source": "fax"}, "unknown source"),
            ({"text": "x", "quality": 1.5}, "quality must be between 0 and 1"),
        ],
    )
    def test_bad_input_is_refused_and_nothing_is_lost(
        self, engine_factory: Any, kwargs: dict[str, Any], message: str
    ) -> None:
        """Bad input gets an error naming the problem; what was stored stays."""
        engine = engine_factory()
        engine.add("keep me")
        with pytest.raises(BadMemoryInput, match=message):
            engine.add(**kwargs)
        assert engine.stats().items == 1
        assert engine.search("keep me", k=1).hits[0].text == "keep me"

    def test_empty_query_is_refused(self, engine_factory: Any) -> None:
        engine = engine_factory()
        with pytest.raises(BadMemoryInput, match="query is empty"):
            engine.search("  ")


class TestForget:
    SECRET_NOTE = "The vault combination is quokka-marmalade-7781."

    def _searchable(self, engine: Any, item_id: str) -> bool:
        queries = [self.SECRET_NOTE, "quokka-marmalade-7781", "vault combination", "quokka"]
        return any(h.item_id == item_id for q in queries for h in engine.search(q, k=10, rerank=False).hits)

    @pytest.mark.parametrize("how", ["id", "source", "query", "tag"])
    def test_forgotten_item_leaves_no_trace(self, engine_factory: Any, tmp_path: Path, how: str) -> None:
        """After forget no query returns the item, and its text and vector are in no file of the store."""
        engine = engine_factory()
        for note in NOTES:
            engine.add(note)
        item_id, _ = engine.add(self.SECRET_NOTE, source="chat", tags=["secret"])
        vector = engine.store.cached_vectors([engine.store.chunks(engine.store.item_chunk_ids(item_id))[
            engine.store.item_chunk_ids(item_id)[0]]["text"] and engine.store.db.execute(
            "SELECT content_hash FROM chunks WHERE item_id = ?", [item_id]).fetchone()[0]]).popitem()[1]  # fmt: skip
        engine.commit_indexes()
        assert self._searchable(engine, item_id)
        assert files_containing(tmp_path, b"quokka")

        match how:
            case "id":
                report = engine.forget([item_id])
            case "source":
                report = engine.forget(filters=Filters(source="chat"))
            case "query":
                report = engine.forget(query="vault combination quokka")
            case "tag":
                report = engine.forget(filters=Filters(tags=("secret",)))
        assert report.item_ids == [item_id]
        assert not self._searchable(engine, item_id)
        assert engine.stats().items == len(NOTES)
        assert files_containing(tmp_path, b"quokka") == []
        assert files_containing(tmp_path, np.asarray(vector, dtype=np.float32).tobytes()[:64]) == []
        engine.close()
        assert files_containing(tmp_path, b"quokka") == []

    def test_a_reader_holding_the_wal_defers_its_truncation_to_a_later_write(
        self, engine_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Another connection's old snapshot keeps the forgotten text in the WAL only until a write after it ends."""
        engine = engine_factory()
        engine.add(NOTES[0])
        item_id, _ = engine.add(self.SECRET_NOTE)
        engine.commit_indexes()
        monkeypatch.setattr(ItemStore, "WAL_RETRY_S", 1e9)  # the clock: no retry is due until said
        reader = sqlite3.connect(tmp_path / "memory.sqlite")  # a backup or an sqlite3 shell, mid-read
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM items").fetchone()
        engine.forget([item_id])
        assert not engine.store.truncate_wal()  # still busy: deferred
        assert files_containing(tmp_path, b"quokka") == [tmp_path / "memory.sqlite-wal"]
        reader.rollback()
        engine.add(NOTES[1])  # a write before the retry is due
        assert files_containing(tmp_path, b"quokka") == [tmp_path / "memory.sqlite-wal"]
        monkeypatch.setattr(ItemStore, "WAL_RETRY_S", 0.0)  # now it is
        engine.add(NOTES[2])
        assert files_containing(tmp_path, b"quokka") == []
        reader.close()

    def test_forget_needs_a_selector(self, engine_factory: Any) -> None:
        engine = engine_factory()
        with pytest.raises(BadMemoryInput, match="needs item ids, a filter or a query"):
            engine.forget()

    def test_forget_unknown_id_changes_nothing(self, engine_factory: Any) -> None:
        engine = engine_factory()
        engine.add(NOTES[0])
        assert engine.forget(["m-nope"]).item_ids == []
        assert engine.stats().items == 1


class TestForgetReachesQuotes:
    NOTE = "the spare key for the boathouse\nhangs behind the tide chart in the shed"
    FLAT = "the spare key for the boathouse hangs behind the tide chart in the shed"

    def test_items_quoting_a_forgotten_note_keep_the_rest_of_their_text(
        self, engine_factory: Any, tmp_path: Path
    ) -> None:
        """A task summary and a chat answer that repeat the note (on one line) lose the quote, nothing else."""
        engine = engine_factory()
        note, _ = engine.add(self.NOTE)
        summary, _ = engine.add(
            f"Task: where is the key?\nAnswer: It is written down: {self.FLAT}. [{note}]", source="task",
            tags=["task"], key="task:t-1", uri="task://t-1",
        )  # fmt: skip
        answer, _ = engine.add(f"The key: {self.NOTE}", source="chat", tags=["chat:c-1"], key="chat:c-1:1")
        other, _ = engine.add(NOTES[1])
        engine.commit_indexes()
        assert files_containing(tmp_path, b"tide chart"), "the quotes are in the files before"

        report = engine.forget([note])

        assert report.item_ids == [note]
        assert engine.stats().items == 3
        kept = engine.get(summary)
        assert kept is not None
        assert kept["chunks"] == [f"Task: where is the key?\nAnswer: It is written down: [forgotten]. [{note}]"]
        assert (kept["source"], kept["tags"], kept["key"], kept["uri"]) == ("task", ["task"], "task:t-1", "task://t-1")
        assert engine.get(answer)["chunks"] == ["The key: [forgotten]"]  # type: ignore[index]
        assert engine.get(other)["chunks"] == [NOTES[1]]  # type: ignore[index]
        hits = engine.search("where is the key? written down", k=10, rerank=False).hits
        assert summary in {h.item_id for h in hits}, "the rewritten item is indexed again"
        assert all("tide chart" not in h.text for h in engine.search("tide chart boathouse", k=10, rerank=False).hits)
        assert files_containing(tmp_path, b"tide chart") == []
        engine.close()
        assert files_containing(tmp_path, b"tide chart") == []

    def test_forget_without_scrub_leaves_other_items_alone(self, engine_factory: Any) -> None:
        """A reset (scrub off) forgets what it is told, and rewrites nothing else."""
        engine = engine_factory()
        note, _ = engine.add(self.NOTE)
        summary, _ = engine.add(f"Answer: {self.FLAT}", source="task")
        engine.forget([note], scrub=False)
        assert engine.get(summary)["chunks"] == [f"Answer: {self.FLAT}"]  # type: ignore[index]
