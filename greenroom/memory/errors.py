"""Memory's errors."""

from __future__ import annotations


class MemoryEngineError(Exception):
    """Base class of memory errors."""


class SkipFile(MemoryEngineError):
    """A file that ingestion skips; the message says why."""


class BadMemoryInput(MemoryEngineError, ValueError):
    """Input the memory engine refuses (empty text, unknown filter, bad quality)."""


class EmbeddingModelError(MemoryEngineError):
    """The embedding model could not be loaded."""
