"""Real MCP servers for the tests: a Python one from PyPI, Node ones from npm, one over HTTP."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from tests.conftest import wait_for
from tests.tools.mcp.install_servers import SERVERS, install

TIME_SERVER = [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]
"""The reference time server from PyPI (``mcp-server-time``, in the dev extra)."""


@pytest.fixture(scope="session")
def npm_cache() -> Path:
    """The npm servers, installed once into the repo's ``.cache/mcp-npm``."""
    return install()


@pytest.fixture
def everything(npm_cache: Path) -> list[str]:
    """The reference "everything" server from npm (stdio)."""
    return [str(npm_cache / "node_modules" / ".bin" / "mcp-server-everything"), "stdio"]


@pytest.fixture
def grow_server(npm_cache: Path) -> list[str]:
    """A Node server on the official TypeScript SDK whose tool list changes at runtime."""
    return ["node", str(npm_cache / "grow.mjs")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A Streamable HTTP server on loopback that wants ``Authorization: Bearer <token>``."""
    port, token = _free_port(), "tok-" + secrets.token_hex(12)
    log = open(tmp_path / "http-server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, str(SERVERS / "http_server.py"), str(port), token],
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    def listening() -> bool:
        assert proc.poll() is None, (tmp_path / "http-server.log").read_text()
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, timeout=60, interval=0.05)
        yield {"url": f"http://127.0.0.1:{port}/mcp", "token": token, "proc": proc}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
        log.close()


def events(d: Any, kind: type[Any] | tuple[type[Any], ...] = e._Event, task_id: str | None = None) -> list[Any]:
    """Journaled events of ``kind`` (optionally one task's), in order."""
    found = [decode_envelope(raw).event for _, raw in d.runtime.journal.read(task_id=task_id)]
    return [ev for ev in found if isinstance(ev, kind)]


def wait_event(d: Any, kind: type[Any], timeout: float = 60.0, **fields: Any) -> Any:
    """The first journaled event of ``kind`` whose fields equal ``fields``, waiting for it."""

    def find() -> Any:
        for ev in events(d, kind):
            if all(getattr(ev, k) == v for k, v in fields.items()):
                return ev
        return None

    return wait_for(find, timeout=timeout, interval=0.05)
