"""Plugins: folders with a manifest that add tools.

A plugin is a folder holding ``plugin.toml``::

    id = "weather"
    version = "1.0.0"
    entry = "plugin.py"              # module, relative to the folder
    description = "..."
    permissions = { network_domains = ["api.weather.test"] }

    [[tools]]
    name = "weather.now"             # must start with "<id>."
    function = "now"                 # def now(args: dict, ctx: ToolContext) -> str
    description = "Current weather for a city."
    side_effects = "read"            # none | read | write | external
    idempotent = true                # optional: twice is once (default: only for none/read)
    network = true
    args_schema = { type = "object", properties = { city = { type = "string" } }, required = ["city"] }

Installed plugins live in ``<data dir>/plugins/<id>``; which are enabled, and
why a plugin failed to load, is kept in the state database. Plugin tools go
through the same policy as built-ins (their declared side effects pick the
default rule), and their arguments are validated against ``args_schema``. A
plugin that fails to parse or import is reported and skipped: it never stops
the daemon. Changes apply at the daemon's next start.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from greenroom._userpath import user_path
from greenroom.bus.journal import create_private_file
from greenroom.tools.spec import ToolContext, ToolSpec

MANIFEST = "plugin.toml"

_COLUMNS = frozenset({"enabled", "error", "installed"})

Id = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]


class PluginError(Exception):
    """A plugin could not be installed, found or loaded; the message says why."""


class PluginToolManifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    function: str
    description: str
    side_effects: Literal["none", "read", "write", "external"] = "external"
    network: bool = False
    shell: bool = False
    timeout_s: float = 30.0
    idempotent: bool | None = None
    args_schema: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "object"})


class Permissions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fs_roots: list[str] = []
    network_domains: list[str] = []
    shell: bool = False


class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: Id
    version: str
    entry: str = "plugin.py"
    description: str = ""
    permissions: Permissions = Permissions()
    tools: list[PluginToolManifest] = []


class PluginInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: str
    enabled: bool
    tools: list[str]
    error: str = ""


class IndexEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: str
    path: str


class Index(msgspec.Struct, frozen=True, kw_only=True):
    plugins: list[IndexEntry] = []


def read_manifest(folder: Path) -> Manifest:
    """Parse and check ``folder/plugin.toml``.

    Raises:
        PluginError: missing, invalid, or inconsistent (tool names, entry module).
    """
    path = folder / MANIFEST
    try:
        manifest = msgspec.toml.decode(path.read_bytes(), type=Manifest)
    except FileNotFoundError:
        raise PluginError(f"{folder} has no {MANIFEST}") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise PluginError(f"invalid {path}: {exc}") from None
    if manifest.id == "mcp":
        raise PluginError(f"{path}: the id 'mcp' is reserved (MCP servers' tools are named mcp.<server>.<tool>)")
    for tool in manifest.tools:
        if not tool.name.startswith(f"{manifest.id}."):
            raise PluginError(f"{path}: tool {tool.name!r} must be named '{manifest.id}.<name>'")
    if not (folder / manifest.entry).is_file():
        raise PluginError(f"{path}: entry module {manifest.entry!r} does not exist")
    return manifest


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in version.replace("-", ".").split("."))


class PluginManager:
    """Installs, enables, updates and removes plugins, and loads their tools.

    Args:
        plugins_dir: where installed plugins live.
        db_path: the state database (enabled flags, load errors).
    """

    def __init__(self, plugins_dir: Path, db_path: Path) -> None:
        self.dir = plugins_dir
        self.dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data dir, if it is new: private
        self.dir.mkdir(exist_ok=True, mode=0o700)
        create_private_file(db_path)
        # Autocommit: each statement is its own transaction; the lock serialises threads.
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS plugins (id TEXT PRIMARY KEY, enabled INTEGER, error TEXT, installed FLOAT)"
        )

    # -- state -----------------------------------------------------------------------------

    def _row(self, plugin_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM plugins WHERE id = ?", [plugin_id]).fetchone()
        return dict(row) if row is not None else None

    def _set(self, plugin_id: str, **values: Any) -> None:
        """Insert or update ``plugin_id``'s row, changing only the columns given."""
        unknown = set(values) - _COLUMNS
        if unknown:
            raise ValueError(f"unknown plugin state columns {sorted(unknown)}")
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values)
        sql = f"INSERT INTO plugins (id, {cols}) VALUES (?, {marks}) ON CONFLICT(id) DO UPDATE SET {updates}"
        with self._lock:
            self._db.execute(sql, [plugin_id, *values.values()])

    def installed(self) -> list[PluginInfo]:
        infos = []
        for folder in sorted(p for p in self.dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            row = self._row(folder.name) or {}
            try:
                m = read_manifest(folder)
                infos.append(
                    PluginInfo(
                        id=m.id,
                        version=m.version,
                        enabled=bool(row.get("enabled", 0)),
                        tools=[t.name for t in m.tools],
                        error=row.get("error") or "",
                    )
                )
            except PluginError as exc:
                infos.append(PluginInfo(id=folder.name, version="?", enabled=False, tools=[], error=str(exc)))
        return infos

    # -- changes ---------------------------------------------------------------------------

    def install(self, source: Path, *, enable: bool = True) -> Manifest:
        """Copy the plugin folder ``source`` in (replacing an installed copy of the same id).

        Raises:
            PluginError: ``source`` is not a valid plugin; nothing installed is touched.
        """
        manifest = read_manifest(source)
        target = self.dir / manifest.id
        staging = self.dir / f".{manifest.id}.installing"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        self._set(manifest.id, enabled=int(enable), error="", installed=time.time())
        return manifest

    def install_from_index(self, index_file: Path, plugin_id: str, *, enable: bool = True) -> Manifest:
        """Install ``plugin_id`` (its newest version) from a local index file."""
        entry = self._newest(index_file, plugin_id)
        return self.install(self._entry_path(index_file, entry), enable=enable)

    def update(self, plugin_id: str, index_file: Path) -> tuple[str, str]:
        """Install a newer version from the index; returns (old, new) versions (equal: up to date)."""
        current = self._installed(plugin_id)
        entry = self._newest(index_file, plugin_id)
        if _version_key(entry.version) <= _version_key(current.version):
            return current.version, current.version
        enabled = bool((self._row(plugin_id) or {}).get("enabled", 1))
        new = self.install(self._entry_path(index_file, entry), enable=enabled)
        return current.version, new.version

    def set_enabled(self, plugin_id: str, enabled: bool) -> None:
        self._installed(plugin_id)
        self._set(plugin_id, enabled=int(enabled))

    def remove(self, plugin_id: str) -> None:
        self._installed(plugin_id)
        shutil.rmtree(self.dir / plugin_id)
        with self._lock:
            self._db.execute("DELETE FROM plugins WHERE id = ?", [plugin_id])

    def _installed(self, plugin_id: str) -> Manifest:
        folder = self.dir / plugin_id
        if not folder.is_dir():
            raise PluginError(f"no plugin {plugin_id!r} is installed")
        return read_manifest(folder)

    @staticmethod
    def _newest(index_file: Path, plugin_id: str) -> IndexEntry:
        try:
            index = msgspec.json.decode(index_file.read_bytes(), type=Index)
        except OSError as exc:
            raise PluginError(f"cannot read index {index_file}: {exc}") from None
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PluginError(f"invalid index {index_file}: {exc}") from None
        entries = [e for e in index.plugins if e.id == plugin_id]
        if not entries:
            raise PluginError(f"{index_file} has no plugin {plugin_id!r}")
        return max(entries, key=lambda e: _version_key(e.version))

    @staticmethod
    def _entry_path(index_file: Path, entry: IndexEntry) -> Path:
        path = user_path(entry.path)
        return path if path.is_absolute() else index_file.parent / path

    # -- loading ---------------------------------------------------------------------------

    def load_tools(self, reserved: set[str] = frozenset()) -> tuple[list[ToolSpec], dict[str, str]]:  # type: ignore[assignment]
        """Tools of every enabled plugin, and the load error of each plugin that failed."""
        tools: list[ToolSpec] = []
        errors: dict[str, str] = {}
        for info in self.installed():
            if not info.enabled:
                continue
            try:
                loaded = self._load(self.dir / info.id)
                clash = [t.name for t in loaded if t.name in reserved]
                if clash:
                    raise PluginError(f"tool names already taken: {', '.join(clash)}")
                tools.extend(loaded)
                reserved = reserved | {t.name for t in loaded}
                self._set(info.id, error="")
            except Exception as exc:  # a broken plugin must never take the daemon down
                message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, PluginError) else str(exc)
                errors[info.id] = message
                self._set(info.id, error=message)
        return tools, errors

    def _load(self, folder: Path) -> list[ToolSpec]:
        manifest = read_manifest(folder)
        module_name = f"greenroom_plugin_{manifest.id.replace('-', '_')}"
        spec = importlib.util.spec_from_file_location(module_name, folder / manifest.entry)
        if spec is None or spec.loader is None:
            raise PluginError(f"cannot import {folder / manifest.entry}")
        module = importlib.util.module_from_spec(spec)
        sys.modules.pop(module_name, None)
        spec.loader.exec_module(module)
        specs = []
        for tool in manifest.tools:
            fn = getattr(module, tool.function, None)
            if not callable(fn):
                raise PluginError(f"{manifest.entry} has no function {tool.function!r} for {tool.name}")
            specs.append(
                ToolSpec(
                    tool.name,
                    tool.description,
                    None,
                    _adapter(fn, tool.name),
                    tool.side_effects,
                    timeout_s=tool.timeout_s,
                    network=tool.network,
                    shell=tool.shell,
                    json_schema=tool.args_schema,
                    idempotent=tool.idempotent,
                    origin="plugin",
                )
            )
        return specs

    def close(self) -> None:
        self._db.close()


def _adapter(fn: Any, name: str) -> Any:
    def run(ctx: ToolContext, args: dict[str, Any]) -> str:
        result = fn(args, ctx)
        if not isinstance(result, str):
            result = json.dumps(result, default=str) if result is not None else ""
        return result

    run.__name__ = f"plugin:{name}"
    return run


__all__ = ["Manifest", "PluginError", "PluginInfo", "PluginManager", "read_manifest"]
