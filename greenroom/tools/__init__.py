"""Tool specs, the registry and the built-in tools (names load lazily, see ``greenroom._lazy``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
    from greenroom.tools.arithmetic import CALCULATE_TOOL
    from greenroom.tools.builtin import BUILTIN_TOOLS, resolve_under_roots
    from greenroom.tools.defaults import default_tools
    from greenroom.tools.files import FILE_TOOLS
    from greenroom.tools.processes import PYTHON_TOOL, SHELL_TOOL
    from greenroom.tools.registry import ToolRegistry
    from greenroom.tools.reminders import REMINDERS_TOOL
    from greenroom.tools.settings import ToolsConfig
    from greenroom.tools.spec import (
        ArgumentsError,
        MemoryAccess,
        SideEffects,
        TaskAccess,
        ToolContext,
        ToolError,
        ToolSpec,
        UnknownToolError,
    )
    from greenroom.tools.units import UNITS_TOOL
    from greenroom.tools.web import WEB_TOOLS

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CALCULATE_TOOL": "arithmetic",
        "UNITS_TOOL": "units",
        "REMINDERS_TOOL": "reminders",
        "BUILTIN_TOOLS": "builtin",
        "resolve_under_roots": "builtin",
        "default_tools": "defaults",
        "FILE_TOOLS": "files",
        "PYTHON_TOOL": "processes",
        "SHELL_TOOL": "processes",
        "ToolRegistry": "registry",
        "ToolsConfig": "settings",
        "ArgumentsError": "spec",
        "MemoryAccess": "spec",
        "SideEffects": "spec",
        "TaskAccess": "spec",
        "ToolContext": "spec",
        "ToolError": "spec",
        "ToolSpec": "spec",
        "UnknownToolError": "spec",
        "WEB_TOOLS": "web",
    },
)
