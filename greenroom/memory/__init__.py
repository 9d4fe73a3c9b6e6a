"""Memory: hybrid retrieval over what greenroom knows.

SQLite holds items and chunks (the truth); HNSW (hnswlib) and BM25 (tantivy)
indexes are derived from it; a Qwen3-style reranker orders the fused results.
Names load lazily (``greenroom._lazy``): the config reads ``memory.settings``
without numpy, hnswlib or tantivy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
    from greenroom.bus.memory_records import ForgetReport, Hit, HitScores, IngestReport, MemoryStats, SearchResult
    from greenroom.memory.chunking import Chunk, chunk_text, content_hash
    from greenroom.memory.embeddings import Embedder
    from greenroom.memory.engine import MemoryEngine
    from greenroom.memory.errors import BadMemoryInput, EmbeddingModelError, MemoryEngineError, SkipFile
    from greenroom.memory.ingest import Ingestion, ingest
    from greenroom.memory.readers import Document, read_document
    from greenroom.memory.reranker import Reranker, RerankerUnavailable
    from greenroom.memory.settings import MemoryConfig
    from greenroom.memory.store import Filters, ItemStore

_RECORDS = ("ForgetReport", "Hit", "HitScores", "IngestReport", "MemoryStats", "SearchResult")

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(_RECORDS, "greenroom.bus.memory_records"),
        "Chunk": "chunking",
        "chunk_text": "chunking",
        "content_hash": "chunking",
        "Embedder": "embeddings",
        "MemoryEngine": "engine",
        "BadMemoryInput": "errors",
        "EmbeddingModelError": "errors",
        "MemoryEngineError": "errors",
        "SkipFile": "errors",
        "Ingestion": "ingest",
        "ingest": "ingest",
        "Document": "readers",
        "read_document": "readers",
        "Reranker": "reranker",
        "RerankerUnavailable": "reranker",
        "MemoryConfig": "settings",
        "Filters": "store",
        "ItemStore": "store",
    },
)
