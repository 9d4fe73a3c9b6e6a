"""Memory: what greenroom knows. For now a simple note store."""

from __future__ import annotations

from greenroom.memory.store import MemoryStore

__all__ = ["MemoryStore"]
