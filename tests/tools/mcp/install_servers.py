"""Install the npm MCP servers the tests use, into a cache folder the tests own.

    python -m tests.tools.mcp.install_servers      # scripts/test.sh runs this

Nothing global: ``npm install --prefix <repo>/.cache/mcp-npm`` with pinned
versions; a marker file records what is installed, so a second run is free.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CACHE = REPO / ".cache" / "mcp-npm"
PACKAGES = (
    "@modelcontextprotocol/server-everything@2026.8.31",
    "@modelcontextprotocol/server-filesystem@2026.8.31",
    # For servers/grow.mjs, a server of our own on the official TypeScript SDK.
    "@modelcontextprotocol/sdk@1.32.2",
    "zod@4.6.7",
)
SERVERS = Path(__file__).resolve().parent / "servers"


class InstallError(Exception):
    """npm is missing or the install failed."""


def bin_path(name: str) -> Path:
    return CACHE / "node_modules" / ".bin" / name


def install() -> Path:
    """Install (once) and return the cache folder; the Node test servers are copied beside
    ``node_modules`` so their imports resolve there."""
    marker = CACHE / "installed.txt"
    wanted = "\n".join(PACKAGES)
    if not (marker.exists() and marker.read_text() == wanted):
        npm = shutil.which("npm")
        if npm is None:
            raise InstallError("the MCP tests need node and npm (Node 20+) on PATH")
        CACHE.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--no-save", *PACKAGES],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise InstallError(f"npm install failed: {proc.stderr[-2000:]}")
        marker.write_text(wanted)
    for script in SERVERS.glob("*.mjs"):
        shutil.copyfile(script, CACHE / script.name)
    return CACHE


if __name__ == "__main__":
    print(install())
