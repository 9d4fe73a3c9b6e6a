"""A Streamable HTTP MCP server for the tests (the official Python SDK's MCPServer).

    python http_server.py PORT TOKEN

Every request must carry ``Authorization: Bearer TOKEN`` (else 401). Tools:
``add`` (read-only), ``grow`` (registers a new tool and tells listeners the
list changed).
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("greenroom-test-http")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
async def grow(name: str, ctx: Context) -> str:
    """Register a new tool called NAME and tell subscribers the tool list changed."""
    server.add_tool(lambda: f"I am {name}", name=name, description=f"A tool added at runtime: {name}")
    await ctx.notify_tools_changed()
    return f"added {name}"


class RequireToken:
    """ASGI middleware: 401 unless the bearer token matches."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != self.expected:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        await self.app(scope, receive, send)


if __name__ == "__main__":
    port, token = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        RequireToken(server.streamable_http_app(), token),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,  # open listen streams would otherwise hold the shutdown forever
    )
