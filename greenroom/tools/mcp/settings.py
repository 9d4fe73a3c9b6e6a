"""MCP settings: the daemon's ``[mcp]`` section, and one server's definition.

A server is either a command line (stdio: greenroom starts it as a child
process) or a URL (Streamable HTTP). Header and environment *values* are
secrets: they live apart from the definition (:class:`McpSecrets`), in the
0600 state database, and never appear in events, logs or replies — only their
names do.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import msgspec

from greenroom.tools.mcp.errors import McpConfigError

Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]

MAX_ARGS = 64
MAX_ARG_CHARS = 4096
MAX_URL_CHARS = 2048
MAX_SECRETS = 32
MAX_SECRET_CHARS = 16384
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MASK = "***"


class McpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[mcp]`` section of the daemon's config."""

    call_timeout_s: float = 60.0
    """A tool call that takes longer fails with a timeout (the server may set its own, lower)."""
    start_timeout_s: float = 30.0
    """Starting a server (spawn, handshake, first tool listing) gives up after this long."""
    max_crashes: int = 5
    """Crashes in a row (each within ``calm_after_s`` of the last) before the server is disabled."""
    backoff_base_s: float = 0.5
    """First restart delay after a crash; doubles with each crash in a row."""
    backoff_max_s: float = 30.0
    calm_after_s: float = 60.0
    """A crash this long after the previous one starts the count (and the backoff) over."""
    max_tools_per_server: int = 256
    """Tools beyond this many are not imported (and the ``mcp.tools.changed`` event says so)."""

    def __post_init__(self) -> None:
        for name in ("call_timeout_s", "start_timeout_s", "backoff_base_s", "backoff_max_s", "calm_after_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"mcp.{name} must be positive")
        if self.max_crashes < 1:
            raise ValueError("mcp.max_crashes must be at least 1")
        if self.max_tools_per_server < 1:
            raise ValueError("mcp.max_tools_per_server must be at least 1")


class McpServerSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One server's definition (everything but the secret values)."""

    name: Name
    command: list[str] = []
    """The command line of a stdio server (program first)."""
    url: str = ""
    """The endpoint of a Streamable HTTP server."""
    cwd: str = ""
    network: bool = False
    """A stdio server that reaches the network itself (HTTP servers always count as network)."""
    timeout_s: float = 0.0
    """Per-call timeout for this server; 0: ``mcp.call_timeout_s``."""
    header_names: list[str] = []
    env_names: list[str] = []

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    @property
    def uses_network(self) -> bool:
        return bool(self.url) or self.network


class McpSecrets(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Header and environment values: stored 0600, never shown."""

    headers: dict[str, str] = {}
    env: dict[str, str] = {}

    def values(self) -> list[str]:
        return [v for v in (*self.headers.values(), *self.env.values()) if v]


def _check_text(what: str, value: str, limit: int) -> None:
    if "\x00" in value:
        raise McpConfigError(f"{what} contains a NUL byte")
    if len(value) > limit:
        raise McpConfigError(f"{what} is {len(value)} characters; at most {limit}")


def _check_url(url: str) -> None:
    _check_text("url", url, MAX_URL_CHARS)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise McpConfigError(f"url {mask_url(url)!r} is not valid: {exc}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise McpConfigError(f"url {mask_url(url)!r} must be http:// or https:// with a host")
    if any(c.isspace() for c in url):
        raise McpConfigError("url contains whitespace")


def check_server(spec: McpServerSpec, secrets: McpSecrets) -> McpServerSpec:
    """Validate a server definition from a client; returns it with the secret names filled in.

    Raises:
        McpConfigError: what is wrong, naming the field (never echoing a secret value).
    """
    if not _NAME.match(spec.name):
        raise McpConfigError(f"server name {spec.name!r} must match [a-z][a-z0-9_-]{{0,39}}")
    if bool(spec.command) == bool(spec.url):
        raise McpConfigError("give either a command (a stdio server) or a url (an HTTP server), not both")
    if spec.command:
        if len(spec.command) > MAX_ARGS:
            raise McpConfigError(f"command has {len(spec.command)} arguments; at most {MAX_ARGS}")
        if not spec.command[0]:
            raise McpConfigError("command is empty")
        for i, arg in enumerate(spec.command):
            _check_text(f"command[{i}]", arg, MAX_ARG_CHARS)
        if secrets.headers:
            raise McpConfigError("headers only apply to HTTP servers (--url)")
    if spec.url:
        _check_url(spec.url)
        if secrets.env:
            raise McpConfigError("environment variables only apply to stdio servers")
    _check_text("cwd", spec.cwd, MAX_ARG_CHARS)
    if not 0 <= spec.timeout_s <= 3600:
        raise McpConfigError(f"timeout_s must be between 0 and 3600, got {spec.timeout_s}")
    for kind, values, pattern in (("header", secrets.headers, _HEADER_NAME), ("env", secrets.env, _ENV_NAME)):
        if len(values) > MAX_SECRETS:
            raise McpConfigError(f"{len(values)} {kind} values; at most {MAX_SECRETS}")
        for key, value in values.items():
            if not pattern.match(key):
                raise McpConfigError(f"{kind} name {key[:80]!r} is not valid")
            _check_text(f"{kind} {key}", value, MAX_SECRET_CHARS)
            if kind == "header" and ("\r" in value or "\n" in value):
                raise McpConfigError(f"header {key} contains a line break")
    return msgspec.structs.replace(spec, header_names=sorted(secrets.headers), env_names=sorted(secrets.env))


def mask_url(url: str) -> str:
    """``url`` with a password (and a user) in it replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{MASK}@{host}", parts.path, parts.query, parts.fragment))


def mask_args(command: list[str], secrets: McpSecrets) -> list[str]:
    """``command`` with any secret value inside an argument replaced by ``***``."""
    values = sorted(secrets.values(), key=len, reverse=True)
    masked = []
    for arg in command:
        for value in values:
            if len(value) >= 4:  # masking "1" everywhere would say more than it hides
                arg = arg.replace(value, MASK)
        masked.append(arg)
    return masked


__all__ = ["McpConfig", "McpSecrets", "McpServerSpec", "check_server", "mask_args", "mask_url"]
