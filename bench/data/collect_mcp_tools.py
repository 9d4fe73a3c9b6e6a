"""Collect real MCP servers' tool lists (how ``tool_pool.json``'s real tools were made).

    python -m bench.data.collect_mcp_tools NPM_PREFIX VENV OUT.json

NPM_PREFIX holds the reference servers from npm (``npm install --prefix``), VENV
the Python ones from PyPI (mcp-server-git, -fetch, -sqlite, -time). Each server
is started over stdio and asked for ``tools/list``; names, descriptions, input
schemas and annotations are written out. Servers that want credentials get
dummy ones: listing tools does not use them.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

NPM = {
    "filesystem": ("mcp-server-filesystem", ["{tmp}"]),
    "everything": ("mcp-server-everything", ["stdio"]),
    "memory": ("mcp-server-memory", []),
    "sequential-thinking": ("mcp-server-sequential-thinking", []),
    "github": ("mcp-server-github", []),
    "gitlab": ("mcp-server-gitlab", []),
    "slack": ("mcp-server-slack", []),
    "google-maps": ("mcp-server-google-maps", []),
    "brave-search": ("mcp-server-brave-search", []),
    "redis": ("mcp-server-redis", ["redis://127.0.0.1:1"]),
    "postgres": ("mcp-server-postgres", ["postgresql://127.0.0.1:1/x"]),
    "puppeteer": ("mcp-server-puppeteer", []),
    "playwright": ("playwright-mcp", []),
    "gdrive": ("mcp-server-gdrive", []),
    "everart": ("mcp-server-everart", []),
    "aws-kb": ("mcp-server-aws-kb-retrieval", []),
}
PYPI = {
    "git": ("mcp-server-git", []),
    "fetch": ("mcp-server-fetch", []),
    "sqlite": ("mcp-server-sqlite", ["--db-path", "{tmp}/x.db"]),
    "time": ("mcp-server-time", ["--local-timezone", "UTC"]),
}
DUMMY_ENV = {
    "GITHUB_PERSONAL_ACCESS_TOKEN": "x",
    "GITLAB_PERSONAL_ACCESS_TOKEN": "x",
    "SLACK_BOT_TOKEN": "x",
    "SLACK_TEAM_ID": "x",
    "GOOGLE_MAPS_API_KEY": "x",
    "BRAVE_API_KEY": "x",
    "EVERART_API_KEY": "x",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "AWS_REGION": "us-east-1",
}


async def list_tools(command: str, args: list[str]) -> list[dict[str, object]]:
    params = StdioServerParameters(command=command, args=args, env=DUMMY_ENV)
    with anyio.fail_after(60):
        async with Client(params, cache=None) as client:
            tools = (await client.list_tools()).tools
    return [
        t.model_dump(
            mode="json",
            by_alias=True,
            exclude_none=True,
            include={"name", "description", "input_schema", "annotations"},
        )
        for t in tools
    ]


async def main(npm: Path, venv: Path, out: Path) -> None:
    tmp = tempfile.mkdtemp()
    servers = {name: (str(npm / "node_modules" / ".bin" / b), a) for name, (b, a) in NPM.items()}
    servers |= {name: (str(venv / "bin" / b), a) for name, (b, a) in PYPI.items()}
    result: dict[str, list[dict[str, object]]] = {}
    for name, (command, args) in servers.items():
        try:
            result[name] = await list_tools(command, [a.format(tmp=tmp) for a in args])
            print(f"{name}: {len(result[name])} tools", file=sys.stderr)
        except Exception as exc:  # a server that will not list is left out, and said so
            print(f"{name}: failed ({type(exc).__name__}: {exc})", file=sys.stderr)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
