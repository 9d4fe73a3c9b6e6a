"""MCP servers as tool sources: definitions, supervised connections, tool import.

See ``manager.py`` for the lifecycle and ``convert.py`` for what is imported
from a server and how results become tool output.
"""

from __future__ import annotations

from greenroom.tools.mcp.convert import McpToolInfo, import_tools, result_text, tool_name
from greenroom.tools.mcp.errors import (
    McpCallError,
    McpConfigError,
    McpConflictError,
    McpError,
    McpNotFoundError,
)
from greenroom.tools.mcp.manager import McpManager
from greenroom.tools.mcp.settings import McpConfig, McpSecrets, McpServerSpec, check_server, mask_args, mask_url
from greenroom.tools.mcp.store import McpStore

__all__ = [
    "McpCallError",
    "McpConfig",
    "McpConfigError",
    "McpConflictError",
    "McpError",
    "McpManager",
    "McpNotFoundError",
    "McpSecrets",
    "McpServerSpec",
    "McpStore",
    "McpToolInfo",
    "check_server",
    "import_tools",
    "mask_args",
    "mask_url",
    "result_text",
    "tool_name",
]
