"""What can go wrong with MCP servers."""

from __future__ import annotations

from greenroom.tools.spec import ToolError


class McpError(Exception):
    """Base of the MCP errors."""


class McpConfigError(McpError):
    """A server definition is invalid; the message names the field."""


class McpNotFoundError(McpError):
    """No server of that name is configured."""


class McpConflictError(McpError):
    """A server of that name already exists, or the server is in the wrong state."""


class McpCallError(ToolError):
    """A call to an MCP tool failed (the server is down, timed out or reported an error)."""
