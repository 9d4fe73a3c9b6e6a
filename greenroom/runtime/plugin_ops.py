"""Plugin operations clients ask for: list, install, update, enable, disable, remove.

The daemon does them (its data dir holds the plugins and their state), one at a
time, each journaled as ``plugin.changed``. A change applies at the next start;
``loaded`` in a listing says whether a plugin's tools are in this daemon now.
Paths (a plugin folder, an index file) are on the daemon's machine.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from greenroom.bus import protocol as p
from greenroom.bus.events import PluginChanged
from greenroom.runtime.errors import RequestError
from greenroom.tools.plugins import PluginError

if TYPE_CHECKING:
    from greenroom.runtime.core import Runtime

SOURCE = "gateway"
Action = Literal["installed", "updated", "enabled", "disabled", "removed"]


PLUGIN_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
"""As a manifest's ``id``: a plugin id is a folder name in the plugins folder, never a path."""


def _plugin_id(plugin_id: str) -> str:
    if not PLUGIN_ID.match(plugin_id):
        raise RequestError("not_found", f"no plugin {plugin_id[:60]!r} is installed (ids are like 'weather')")
    return plugin_id


def _absolute(path: str, what: str) -> Path:
    folder = Path(path)
    if "\0" in path or not folder.is_absolute():
        raise RequestError("bad_request", f"{what} must be an absolute path on the daemon's machine, got {path!r}")
    return folder


class PluginOps:
    """Plugin requests, on behalf of the gateway.

    Args:
        rt: the runtime (its plugin manager, tool registry and bus).
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()

    def list(self) -> p.PluginsReply:
        tools = {t.name for t in self.rt.tools}
        views = [
            p.PluginView(
                id=i.id, version=i.version, enabled=i.enabled, tools=list(i.tools), error=i.error,
                loaded=bool(i.tools) and all(name in tools for name in i.tools),
            )
            for i in self.rt.plugins.installed()
        ]  # fmt: skip
        return p.PluginsReply(plugins=views)

    def _journal(self, plugin_id: str, action: Action, version: str, client: str) -> int:
        event = PluginChanged(plugin_id=plugin_id, action=action, version=version, client=client)
        return self.rt.bus.publish(event, source=SOURCE, durable=True).seq

    def install(self, req: p.PluginInstall, client: str = "") -> p.PluginReply:
        manager = self.rt.plugins
        with self._lock:
            try:
                if req.index:
                    m = manager.install_from_index(_absolute(req.index, "index"), req.source, enable=req.enable)
                else:
                    m = manager.install(_absolute(req.source, "source"), enable=req.enable)
            except (PluginError, OSError) as exc:
                raise RequestError("bad_request", str(exc)) from exc
            seq = self._journal(m.id, "installed", m.version, client)
        return p.PluginReply(
            plugin_id=m.id, action="installed", version=m.version, tools=[t.name for t in m.tools], seq=seq
        )

    def update(self, plugin_id: str, index: str, client: str = "") -> p.PluginReply:
        with self._lock:
            try:
                old, new = self.rt.plugins.update(_plugin_id(plugin_id), _absolute(index, "index"))
            except (PluginError, OSError) as exc:
                raise RequestError("bad_request", str(exc)) from exc
            seq = self._journal(plugin_id, "updated", new, client) if old != new else 0
        return p.PluginReply(plugin_id=plugin_id, action="updated", version=new, previous=old, seq=seq)

    def set_enabled(self, plugin_id: str, enabled: bool, client: str = "") -> p.PluginReply:
        action: Action = "enabled" if enabled else "disabled"
        with self._lock:
            try:
                self.rt.plugins.set_enabled(_plugin_id(plugin_id), enabled)
            except PluginError as exc:
                raise RequestError("not_found", str(exc)) from exc
            seq = self._journal(plugin_id, action, "", client)
        return p.PluginReply(plugin_id=plugin_id, action=action, seq=seq)

    def remove(self, plugin_id: str, client: str = "") -> p.PluginReply:
        with self._lock:
            try:
                self.rt.plugins.remove(_plugin_id(plugin_id))
            except PluginError as exc:
                raise RequestError("not_found", str(exc)) from exc
            seq = self._journal(plugin_id, "removed", "", client)
        return p.PluginReply(plugin_id=plugin_id, action="removed", seq=seq)
