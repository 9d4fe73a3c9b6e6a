"""Tool settings (part of the daemon's config)."""

from __future__ import annotations

import msgspec


class ToolsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fs_roots: list[str] = msgspec.field(default_factory=lambda: ["~"])
    """``fs.*`` tools only act under these directories."""
    max_output_bytes: int = 16384
    """Tool outputs longer than this are cut (and say so)."""
    shell_enabled: bool = False
    """``shell.exec`` exists only when this is on; even then it asks unless a rule allows the command."""
    shell_timeout_s: float = 60.0
    python_timeout_s: float = 30.0
    python_memory_mb: int = 512
    web_timeout_s: float = 15.0
    web_max_bytes: int = 2 << 20
    """Largest download ``web.fetch`` reads."""
    web_search_url: str = "https://html.duckduckgo.com/html/?q={query}"
    """The HTML search page ``web.search`` scrapes (DuckDuckGo's no-JavaScript page by default)."""
    context_tools: int = 8
    """How many tools a step's prompt carries: the tool selector ranks every tool against the
    step's intent and keeps this many (always including the tools the plan named)."""
    context_rerank: bool = True
    """Rescore the selector's best candidates with memory's reranker when it is loaded already
    (never waiting for a load). A 0.6B reranker costs seconds per step on a CPU: false skips it."""

    def __post_init__(self) -> None:
        if self.context_tools < 1:
            raise ValueError(f"tools.context_tools must be at least 1, got {self.context_tools}")
