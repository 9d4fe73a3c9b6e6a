"""MCP servers as tool sources: definitions, supervised connections, tool import.

See ``manager.py`` for the lifecycle and ``convert.py`` for what is imported
from a server and how results become tool output. Names load lazily
(``greenroom._lazy``): the config reads ``mcp.settings`` without the MCP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
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

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("McpToolInfo", "import_tools", "result_text", "tool_name"), "convert"),
        **dict.fromkeys(
            ("McpCallError", "McpConfigError", "McpConflictError", "McpError", "McpNotFoundError"), "errors"
        ),
        "McpManager": "manager",
        **dict.fromkeys(
            ("McpConfig", "McpSecrets", "McpServerSpec", "check_server", "mask_args", "mask_url"), "settings"
        ),
        "McpStore": "store",
    },
)
