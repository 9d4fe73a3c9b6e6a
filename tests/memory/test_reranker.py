from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from greenroom.memory import Reranker
from tests.conftest import wait_for


class TestReranker:
    def test_batched_scores_equal_one_at_a_time(self, tiny_model: Path) -> None:
        """Right padding does not change a document's score (causal attention)."""
        docs = ["the cat sat", "a much longer document about plans and tools and memory", "no"]
        batched = Reranker(str(tiny_model), batch_size=8).score("cats", docs)
        single = Reranker(str(tiny_model), batch_size=1).score("cats", docs)
        assert batched == pytest.approx(single, abs=1e-4)
        assert all(0 < s < 1 for s in batched)
        assert len(set(batched)) == 3

    def test_search_results_are_reranked_with_their_scores(self, engine_factory: Any, tiny_model: Path) -> None:
        """With a reranker, hits carry its score and relevance is that score."""
        engine = engine_factory(reranker=Reranker(str(tiny_model)), rerank_top_n=5)
        for text in ["plan a trip", "remember the file", "tool call result", "read the note"]:
            engine.add(text)
        result = engine.search("which file", k=3)
        assert result.reranked
        assert all(h.scores.rerank is not None and h.scores.relevance == h.scores.rerank for h in result.hits)
        finals = [h.scores.final for h in result.hits]
        assert finals == sorted(finals, reverse=True)

    def test_an_unloadable_reranker_degrades_to_fused_order(
        self, engine_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A missing reranker model leaves search working, says why, and is not retried on every search."""
        import mlx_lm

        loads: list[str] = []
        real_load = mlx_lm.load
        monkeypatch.setattr(mlx_lm, "load", lambda path, *a, **k: (loads.append(path), real_load(path, *a, **k))[1])
        engine = engine_factory(reranker=Reranker(str(tmp_path / "no-such-model")))
        engine.add("the heron stands in the pond")
        first = engine.search("heron", k=1)  # not on disk: fetched in the background, this search goes on
        assert not first.reranked
        assert "being downloaded" in first.rerank_note or "cannot load reranker" in first.rerank_note  # fast fail
        wait_for(lambda: engine.reranker_error is not None, timeout=60)
        result = engine.search("heron", k=1)
        assert not result.reranked
        assert "cannot load reranker" in result.rerank_note
        assert result.hits[0].scores.rerank is None
        assert engine.search("heron", k=1).rerank_note == result.rerank_note
        assert len(loads) == 1, "a failed load is not retried on every search"
        assert "\n" not in result.rerank_note, "the reason is one line"

    def test_unavailability_is_reported_once_and_in_stats(
        self, engine_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unloadable reranker gives one event (not one per search), and stats say it is unavailable."""
        from greenroom.bus.events import Error

        engine = engine_factory(reranker=Reranker(str(tmp_path / "no-such-model")))
        published: list[Any] = []
        engine.publish = published.append
        assert engine.stats().reranker_status.startswith("not downloaded yet")
        engine.add("the heron stands in the pond")
        engine.search("heron", k=1)
        wait_for(lambda: engine.reranker_error is not None, timeout=60)
        for _ in range(3):
            engine.search("heron", k=1)
        errors = [ev for ev in published if isinstance(ev, Error)]
        assert [ev.code for ev in errors] == ["reranker_unavailable"]
        assert engine.reranker_error == errors[0].message
        stats = engine.stats()
        assert stats.reranker_status.startswith("unavailable: cannot load reranker")


class TestRerankerDownload:
    def test_a_search_never_waits_on_the_download(
        self, engine_factory: Any, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """While the reranker downloads, searches answer unreranked; once it is loaded they are reranked."""
        import mlx_lm

        folder = str(tiny_model)
        release = threading.Event()
        real_load = mlx_lm.load

        def slow_download(path: str, *args: Any, **kwargs: Any) -> Any:
            release.wait(60)  # the hub, slow: held until the test has searched meanwhile
            return real_load(folder, *args, **kwargs)

        monkeypatch.setattr(mlx_lm, "load", slow_download)
        engine = engine_factory(reranker=Reranker("Qwen/Not-On-This-Disk-Reranker"))
        engine.add("the heron stands in the pond")
        during = engine.search("heron", k=1)
        assert not during.reranked
        assert "being downloaded" in during.rerank_note
        assert engine.stats().reranker_status.startswith("downloading in the background")
        release.set()
        wait_for(lambda: engine.reranker.loaded, timeout=60)
        assert engine.search("heron", k=1).reranked
