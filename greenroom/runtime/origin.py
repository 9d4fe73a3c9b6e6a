"""Host and Origin checks for browser-facing listeners (defences against DNS rebinding and
cross-site WebSockets).

A page on ``evil.example`` that makes its name resolve to 127.0.0.1 reaches a
loopback port with ``Host: evil.example:port``: only IP literals, ``localhost``
and the configured host are accepted, so such a request is refused. A page on
another origin opening a WebSocket sends its ``Origin``; only the bundled
page's origin and configured ones pass. A client without an ``Origin`` header
is not a browser (and still needs a token).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def _split_host(value: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit("//" + value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if host is None or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return host, port


def host_allowed(header: str, port: int, configured: str = "") -> bool:
    """Whether a ``Host`` header names this listener by an IP literal, ``localhost`` or ``configured``."""
    split = _split_host(header.strip())
    if split is None or split[1] != port:
        return False
    host = split[0].lower()
    if host == "localhost" or (configured and host == configured.lower().strip("[]")):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, default ports dropped; ``""`` if it is not one."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https", "tauri") or not parts.hostname or parts.path not in ("", "/"):
        return ""
    if parts.query or parts.fragment or parts.username is not None:
        return ""
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def origin_allowed(header: str | None, allowed: set[str]) -> bool:
    """No ``Origin`` (not a browser) passes; otherwise it must be one of ``allowed`` (normalised)."""
    if header is None:
        return True
    value = normalise_origin(header)
    return bool(value) and value in allowed
