"""Configuration: one frozen msgspec Struct, decoded once from TOML and passed down.

Every value can be overridden on the command line with ``--set section.key=value``
(the value is parsed as a TOML value, so ``--set agent.max_rounds=2`` is an int and
``--set tools.fs_roots='["/tmp"]'`` a list). Nothing below ``runtime/`` reads the
environment or the config file: they receive this object.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import msgspec
import platformdirs

from greenroom._userpath import user_path
from greenroom.actors.settings import AgentConfig
from greenroom.bus.settings import JournalConfig
from greenroom.memory.settings import MemoryConfig
from greenroom.models.settings import LlmConfig
from greenroom.policy.rules import Rule
from greenroom.runtime.config_errors import check_override_key, explain_validation, read_toml, unknown_keys
from greenroom.runtime.errors import ConfigError
from greenroom.runtime.paths import APP, platform_data_dir, platform_runtime_dir
from greenroom.schedules.settings import ScheduleConfig
from greenroom.tools.mcp.settings import McpConfig
from greenroom.tools.settings import ToolsConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class DaemonConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    data_dir: str = ""
    """Journal, memory and models live here (mode 0700). Default: the platform's user data dir."""
    runtime_dir: str = ""
    """Sockets live here (mode 0700). Default: the platform's user runtime dir."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class GatewayConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    workers: int = 8
    """Concurrent control requests (one nng context each)."""
    max_frame_bytes: int = 1 << 20
    """Requests larger than this get an error reply."""
    timeline_buffer: int = 8192
    """Per-subscriber send buffer of the timeline socket, in messages (nng's maximum)."""
    ws: bool = False
    """Listen for WebSocket clients (browsers) too; every pipe needs a token (``greenroom token``)."""
    ws_host: str = "127.0.0.1"
    ws_port: int = 7311
    """0: any free port."""
    tcp: bool = False
    """Listen for remote clients on TCP too (control on ``tcp_port``, timeline on ``tcp_port + 1``)."""
    tcp_host: str = "127.0.0.1"
    tcp_port: int = 7312
    """0: any free ports."""
    tls_cert_key: str = ""
    """A PEM file holding the certificate and its key: TCP then speaks TLS (``tls+tcp://``)."""
    web: bool = False
    """Serve the web page over HTTP on ``ws_host`` (turns ``ws`` on too)."""
    web_port: int = 7310
    """0: any free port."""
    allowed_origins: list[str] = []
    """Web origins allowed to open a WebSocket besides the page's own (``http://127.0.0.1:<web_port>``)."""
    hello_failures_per_minute: int = 10
    """Refused hellos per client address per minute before it is refused without a look at its token."""
    replay_workers: int = 2
    """Threads that serve ``replay`` (apart from the control workers, so replay storms cannot starve them)."""
    replay_share: float = 0.5
    """Of one core's time, the most that replays take together (the workers rest in between)."""


class PolicyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    rules: list[Rule] = []
    """``[[policy.rules]]`` tables, evaluated after remembered decisions and before the defaults."""


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    daemon: DaemonConfig = DaemonConfig()
    policy: PolicyConfig = PolicyConfig()
    gateway: GatewayConfig = GatewayConfig()
    llm: LlmConfig = LlmConfig()
    agent: AgentConfig = AgentConfig()
    tools: ToolsConfig = ToolsConfig()
    memory: MemoryConfig = MemoryConfig()
    schedules: ScheduleConfig = ScheduleConfig()
    mcp: McpConfig = McpConfig()
    journal: JournalConfig = JournalConfig()

    @property
    def data_dir(self) -> Path:
        return user_path(self.daemon.data_dir) if self.daemon.data_dir else platform_data_dir()

    @property
    def runtime_dir(self) -> Path:
        return user_path(self.daemon.runtime_dir) if self.daemon.runtime_dir else platform_runtime_dir()


def default_config_path() -> Path:
    """Where the config file is looked for by default."""
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def _apply_override(tree: dict[str, Any], item: str) -> str:
    """Apply one ``--set section.key=value`` to ``tree``; return the dotted key.

    Raises:
        ConfigError: one line naming the mistake and the fix.
    """
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or "." not in key or not all(key.split(".")):
        raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. --set agent.max_rounds=2")
    problem = check_override_key(Config, key)
    if problem is not None:
        raise ConfigError(f"--set {item}: {problem}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is taken as a string: --set llm.backend=scripted
    *parents, leaf = key.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {item}: {part!r} is a value in the config file, not a section")
    node[leaf] = value
    return key


def load_config(path: Path | None = None, overrides: list[str] = ()) -> Config:  # type: ignore[assignment]
    """Read ``path`` (default location if None; missing is fine) and apply ``overrides``.

    Raises:
        ConfigError: one line naming the mistake (file, line and column for TOML syntax; the
            ``--set`` item for an override; a suggestion for a misspelt key; the valid values).
    """
    explicit = path is not None
    path = path or default_config_path()
    tree: dict[str, Any] = {}
    if path.exists():
        tree = read_toml(path, tomllib.loads)
        problems = unknown_keys(tree, Config)
        if problems:
            raise ConfigError(f"{path}: {problems[0]}")
    elif explicit:
        raise ConfigError(f"config file {path} does not exist; create it or leave out --config")
    origin_of: dict[str, str] = {}
    for item in overrides:
        origin_of[_apply_override(tree, item)] = item
    try:
        return msgspec.convert(tree, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(explain_validation(Config, exc, origin_of, str(path))) from None
