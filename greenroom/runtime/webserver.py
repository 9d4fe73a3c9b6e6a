"""Serves the web client's static files on loopback (the standard library's HTTP server).

The page itself holds no secret: it gets a token from its URL fragment (which
a browser never sends to a server) and talks to the daemon over nng's
WebSocket transport. This server only hands out files, plus ``/config.json``
(where the WebSocket listens). It answers only requests whose ``Host`` is an
IP literal, ``localhost`` or the configured host (a DNS-rebinding defence),
and forbids framing (a page must not be able to overlay confirmation buttons).
"""

from __future__ import annotations

import json
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import structlog

from greenroom.runtime.origin import host_allowed

log = structlog.get_logger(__name__)

WEB_PACKAGE = "greenroom.clients.web"
"""The page's files (plain HTML, JS, CSS: data, not code this layer imports)."""


def web_root() -> Path:
    """The folder holding the page's files."""
    return Path(str(resources.files(WEB_PACKAGE)))


class WebServer:
    """A static file server in a thread.

    Args:
        host: address to bind (loopback by default).
        port: 0 for any free port.
        config: what ``/config.json`` returns (the ws URL).
        root: the files (default: the bundled page).
    """

    def __init__(self, host: str, port: int, config: dict[str, Any], root: Path | None = None) -> None:
        self.root = (root or web_root()).resolve()
        self.config = config
        handler = _handler(self)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="web", daemon=True)

    @property
    def origin(self) -> str:
        return f"http://{_url_host(self.host)}:{self.port}"

    def start(self) -> WebServer:
        self._thread.start()
        log.info("web_listening", url=self.origin + "/")
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def file_for(self, path: str) -> Path | None:
        """The file a URL path names, or None (never anything outside ``root``)."""
        rel = path.split("?", 1)[0].split("#", 1)[0].lstrip("/") or "index.html"
        if "\\" in rel or "\0" in rel:
            return None
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root) or not target.is_file() or target.suffix == ".py":
            return None
        return target


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _handler(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "greenroom"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            # Paths only (a fragment never reaches a server, so no token can be logged here).
            log.debug("web_request", path=self.path.split("?", 1)[0], status=args[1] if len(args) > 1 else "")

        def do_GET(self) -> None:
            if not host_allowed(self.headers.get("Host", ""), server.port, server.host):
                self._send(421, b"misdirected request: unknown Host\n", "text/plain")
                return
            if self.path.split("?", 1)[0] == "/config.json":
                self._send(200, json.dumps(server.config).encode(), "application/json")
                return
            target = server.file_for(self.path)
            if target is None:
                self._send(404, b"not found\n", "text/plain")
                return
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send(200, target.read_bytes(), kind)

        def do_HEAD(self) -> None:
            self.do_GET()

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind + ("; charset=utf-8" if kind.startswith("text/") else ""))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            ws = str(server.config.get("ws", ""))
            self.send_header(
                "Content-Security-Policy",
                f"default-src 'self'; connect-src 'self' {ws}; img-src 'self' data:; frame-ancestors 'none'",
            )
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler
