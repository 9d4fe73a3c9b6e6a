"""Tool settings (part of the daemon's config)."""

from __future__ import annotations

import msgspec


class ToolsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fs_roots: list[str] = msgspec.field(default_factory=lambda: ["~"])
    """``fs.*`` tools only act under these directories."""
    max_output_bytes: int = 16384
