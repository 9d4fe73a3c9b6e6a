"""Memory: hybrid retrieval over what greenroom knows.

SQLite holds items and chunks (the truth); HNSW (hnswlib) and BM25 (tantivy)
indexes are derived from it; a Qwen3-style reranker orders the fused results.
"""

from __future__ import annotations

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

__all__ = [
    "BadMemoryInput",
    "Chunk",
    "Document",
    "Embedder",
    "EmbeddingModelError",
    "Filters",
    "ForgetReport",
    "Hit",
    "HitScores",
    "IngestReport",
    "Ingestion",
    "ItemStore",
    "MemoryConfig",
    "MemoryEngine",
    "MemoryEngineError",
    "MemoryStats",
    "Reranker",
    "RerankerUnavailable",
    "SearchResult",
    "SkipFile",
    "chunk_text",
    "content_hash",
    "ingest",
    "read_document",
]
