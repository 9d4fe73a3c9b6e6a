"""Tool specs, the registry and the built-in tools."""

from __future__ import annotations

from greenroom.tools.builtin import BUILTIN_TOOLS, resolve_under_roots
from greenroom.tools.registry import ToolRegistry
from greenroom.tools.settings import ToolsConfig
from greenroom.tools.spec import (
    ArgumentsError,
    MemoryAccess,
    SideEffects,
    ToolContext,
    ToolError,
    ToolSpec,
    UnknownToolError,
)

__all__ = [
    "BUILTIN_TOOLS",
    "ArgumentsError",
    "MemoryAccess",
    "SideEffects",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "ToolSpec",
    "ToolsConfig",
    "UnknownToolError",
    "resolve_under_roots",
]
