"""The query path of the embedder: the lean encoder, the query cache and the query threads (real MiniLM)."""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenroom.memory.query_threads as query_threads
from greenroom.memory import Embedder, MemoryConfig
from greenroom.memory.embeddings import QUERY_CACHE_CHARS
from greenroom.memory.query_encoder import build
from greenroom.memory.query_threads import AUTO, QueryThreads
from tests.memory.conftest import CountingEmbedder

WORDS = ["memory", "journal", "replay", "Zürich", "naïve", "東京", "🙂", "emoji", "x", "--", "0x1f", "straße", "ß"]
SHORT = st.text(max_size=80)
LONG = st.lists(st.sampled_from(WORDS), min_size=300, max_size=500).map(" ".join)  # > 256 tokens: truncated
NON_ASCII = st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF), max_size=60)
QUERY_TEXTS = st.one_of(st.just(""), st.just(" \t\n"), SHORT, LONG, NON_ASCII)
CACHE_TEXTS = ["cabin key", "cabin keys", "boat key", "wifi", "wifi?", "東京", ""]  # pairwise cosine < 0.99
REFERENCE: dict[str, np.ndarray] = {}  # encode() of each, computed once
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def encode(model: Any, text: str) -> np.ndarray:
    """What ``SentenceTransformer.encode`` gives for ``text`` (the stored chunks' path)."""
    return np.asarray(model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0], dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def small_cache() -> Embedder:
    """A second embedder that keeps only three query vectors."""
    return Embedder(query_cache=3)


class TestLeanEncoder:
    def test_default_model_takes_the_lean_path(self, embedder: CountingEmbedder) -> None:
        """The offline MiniLM is a plain BERT with mean pooling: its queries skip sentence-transformers' modules."""
        embedder._load()
        assert embedder._lean is not None

    @SLOW
    @given(text=QUERY_TEXTS)
    def test_query_vector_is_the_models_own(self, embedder: CountingEmbedder, text: str) -> None:
        """Any query (empty, very long, non-ASCII) gets the vector ``encode`` gives the same text."""
        embedder.clear_query_cache()
        got = embedder.embed_query(text)
        assert got.dtype == np.float32
        assert got.shape == (embedder.dim,)
        assert cosine(got, encode(embedder._load(), text)) >= 0.9999
        assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-5

    def test_texts_past_the_max_length_are_truncated_like_stored_chunks(self, embedder: CountingEmbedder) -> None:
        """Two texts that differ only after the model's 256 tokens get the same query vector."""
        head = " ".join(["journal"] * 300)
        a, b = embedder.embed_query(head + " apples"), embedder.embed_query(head + " pears")
        assert cosine(a, b) >= 0.9999
        assert cosine(a, encode(embedder._load(), head + " apples")) >= 0.9999

    def test_other_pipelines_get_no_lean_encoder(self, embedder: CountingEmbedder) -> None:
        """CLS pooling, an extra module or a model in training mode fall back to the model's own path."""
        model = embedder._load()
        cls = copy.deepcopy(model)
        cls[1].pooling_mode = "cls"
        assert build(cls) is None
        training = copy.deepcopy(model)
        training[0].auto_model.train()
        assert build(training) is None
        extra = copy.deepcopy(model)
        extra.append(torch.nn.Identity())
        assert build(extra) is None
        assert build(model) is not None

    def test_a_lean_encoder_that_disagrees_is_not_used(self, embedder: CountingEmbedder) -> None:
        """A model whose layers do what its config does not say (ReLU for GELU) fails the probe: own path kept."""
        model = copy.deepcopy(embedder._load())
        for layer in model[0].auto_model.encoder.layer:
            layer.intermediate.intermediate_act_fn = torch.nn.ReLU()
        assert build(model) is not None  # the config still reads as plain BERT
        assert embedder._lean_encoder(model) is None


class TestQueryCache:
    def test_a_repeated_query_is_a_hit_and_a_copy(self, small_cache: Embedder) -> None:
        """The second ask of the same text comes from the cache; changing the returned array changes nothing."""
        small_cache.clear_query_cache()
        first = small_cache.embed_query("where is the cabin key")
        hits = small_cache.query_hits
        first[:] = 0
        again = small_cache.embed_query("where is the cabin key")
        assert small_cache.query_hits == hits + 1
        assert cosine(again, encode(small_cache._load(), "where is the cabin key")) >= 0.9999

    @settings(max_examples=30, deadline=None)
    @given(texts=st.lists(st.sampled_from(CACHE_TEXTS), max_size=12))
    def test_never_a_vector_for_another_text(self, small_cache: Embedder, texts: list[str]) -> None:
        """Whatever the order of asks and evictions, each answer is its own text's vector."""
        model = small_cache._load()
        if not REFERENCE:
            REFERENCE.update({text: encode(model, text) for text in CACHE_TEXTS})
        for text in texts:
            got = small_cache.embed_query(text)
            assert cosine(got, REFERENCE[text]) >= 0.9999
            assert len(small_cache._queries) <= 3

    def test_keys_are_exact_texts(self, small_cache: Embedder) -> None:
        """Texts differing in case or spacing are separate entries, never each other's hit."""
        small_cache.clear_query_cache()
        small_cache.embed_query("Cabin key")
        hits = small_cache.query_hits
        small_cache.embed_query("cabin key")
        small_cache.embed_query("Cabin key ")
        assert small_cache.query_hits == hits
        assert list(small_cache._queries) == ["Cabin key", "cabin key", "Cabin key "]

    def test_clear_and_long_texts(self, small_cache: Embedder) -> None:
        """A cleared cache misses again; a text longer than the key limit is never kept."""
        small_cache.embed_query("wifi password")
        small_cache.clear_query_cache()
        misses = small_cache.query_misses
        small_cache.embed_query("wifi password")
        assert small_cache.query_misses == misses + 1
        small_cache.embed_query("w" * (QUERY_CACHE_CHARS + 1))
        assert "w" * (QUERY_CACHE_CHARS + 1) not in small_cache._queries

    def test_a_clear_during_a_query_keeps_nothing_stale(self, small_cache: Embedder) -> None:
        """A vector computed across a clear (a forget raced the search) is returned but not kept."""
        small_cache.clear_query_cache()
        small_cache._load()
        threads, started, release = small_cache._threads, threading.Event(), threading.Event()

        class Paused:
            def run(self, fn: Any) -> Any:
                started.set()
                release.wait(timeout=30)
                return threads.run(fn)

        small_cache._threads = Paused()
        try:
            result: list[np.ndarray] = []
            worker = threading.Thread(target=lambda: result.append(small_cache.embed_query("the boat's name")))
            worker.start()
            assert started.wait(timeout=30)
            small_cache.clear_query_cache()
            release.set()
            worker.join(timeout=60)
        finally:
            small_cache._threads = threads
        assert result
        assert "the boat's name" not in small_cache._queries

    def test_no_cache_keeps_nothing(self, embedder: CountingEmbedder) -> None:
        """``query_cache=0`` embeds every ask."""
        plain = Embedder(query_cache=0)
        plain._model, plain._lean, plain._threads = embedder._load(), embedder._lean, embedder._threads
        plain.embed_query("x")
        plain.embed_query("x")
        assert plain.query_hits == 0
        assert not plain._queries

    def test_forget_clears_the_cache(self, engine_factory: Any) -> None:
        """A forget empties the query cache: recent query texts may quote what was forgotten."""
        engine = engine_factory()
        item_id, _ = engine.add("the alarm code is in the blue folder")
        engine.search("alarm code", rerank=False)
        assert "alarm code" in engine.embedder._queries
        engine.forget([item_id])
        assert "alarm code" not in engine.embedder._queries


class TestQueryThreads:
    def test_each_count_lives_on_its_own_thread(self) -> None:
        """A fixed count holds on its worker; the caller and threads started later keep the shared count."""
        shared = torch.get_num_threads()
        one = QueryThreads(1)
        try:
            assert one.run(torch.get_num_threads) == 1
            assert torch.get_num_threads() == shared
            seen: list[int] = []
            later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
            later.start()
            later.join()
            assert seen == [shared]
        finally:
            one.close()

    def test_auto_picks_two_only_while_a_core_is_idle(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The default gives a query two threads while fewer threads run than torch has cores, else one."""
        before = torch.get_num_threads()
        torch.set_num_threads(2)  # two cores' worth, whatever an earlier test left
        auto = QueryThreads(AUTO)
        torch.set_num_threads(before)
        try:
            if not auto._pools:
                pytest.skip("torch's parallel backend here has no per-thread counts (not OpenMP)")
            monkeypatch.setattr(query_threads, "_running", lambda: 1)  # only the caller runs
            assert auto.pick() == 2
            assert auto.run(torch.get_num_threads) == 2
            monkeypatch.setattr(query_threads, "_running", lambda: auto.shared)  # every core busy
            assert auto.pick() == 1
            assert auto.run(torch.get_num_threads) == 1
        finally:
            auto.close()

    def test_settings_refuse_bad_values(self) -> None:
        """Negative thread counts or cache sizes are configuration errors naming the field."""
        with pytest.raises(ValueError, match="query_threads"):
            MemoryConfig(query_threads=-1)
        with pytest.raises(ValueError, match="query_cache"):
            MemoryConfig(query_cache=-1)
