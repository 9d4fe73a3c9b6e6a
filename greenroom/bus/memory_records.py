"""What the memory engine returns: search hits with their scores and provenance,
ingest and forget reports, stats. Plain msgspec Structs, so the same types go
over the wire to clients unchanged (the bus owns them; memory fills them)."""

from __future__ import annotations

import msgspec


class HitScores(msgspec.Struct, frozen=True, kw_only=True):
    """Why a hit came back: every stage's score (``None`` where the stage did not see it)."""

    dense: float | None = None
    """Cosine similarity to the query embedding."""
    dense_rank: int | None = None
    bm25: float | None = None
    bm25_rank: int | None = None
    fused: float = 0.0
    rerank: float | None = None
    """The reranker's yes-probability (0-1)."""
    relevance: float = 0.0
    recency: float = 0.0
    quality: float = 0.0
    final: float = 0.0


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    chunk_id: int
    text: str
    source: str
    uri: str | None = None
    title: str = ""
    heading: str = ""
    start: int = 0
    end: int = 0
    """Character offsets of the chunk in its item's text."""
    tags: list[str] = []
    created: float = 0.0
    updated: float = 0.0
    scores: HitScores = HitScores()


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    hits: list[Hit]
    reranked: bool = False
    rerank_note: str = ""
    """Why results were not reranked (off, or the model could not load)."""
    timings_ms: dict[str, float] = {}


class SkippedFile(msgspec.Struct, frozen=True):
    path: str
    reason: str


class IngestReport(msgspec.Struct, kw_only=True):
    run_id: str = ""
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    forgotten: int = 0
    skipped: list[SkippedFile] = []
    chunks: int = 0
    embedded: int = 0
    """Chunks sent to the embedding model (cached text is not)."""
    seconds: float = 0.0
    cancelled: bool = False


class ForgetReport(msgspec.Struct, frozen=True, kw_only=True):
    item_ids: list[str] = []
    chunks: int = 0


class MemoryStats(msgspec.Struct, frozen=True, kw_only=True):
    items: int = 0
    by_source: dict[str, int] = {}
    chunks: int = 0
    tokens: int = 0
    cached_vectors: int = 0
    dense_vectors: int = 0
    dense_deleted: int = 0
    bm25_docs: int = 0
    db_bytes: int = 0
    dense_bytes: int = 0
    bm25_bytes: int = 0
    embedding_model: str = ""
    reranker_model: str = ""
    reranker_status: str = ""
    """``loaded``, ``off``, why it is unavailable, or whether its first use can load it offline."""
