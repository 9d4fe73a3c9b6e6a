"""The ``[journal]`` settings: how long token chunks are kept, how often the daemon compacts."""

from __future__ import annotations

import msgspec


class JournalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fold_chunks_after_days: float = 7.0
    """Token chunks (``llm.chunk``) of tasks finished at least this many days ago are folded into their
    ``llm.finished`` event, which holds the same text. Events of open tasks are never touched."""
    compact_every_h: float = 24.0
    """How often the daemon folds what is due (and gives the space back); 0: only on
    ``greenroom journal compact``."""
