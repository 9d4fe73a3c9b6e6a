"""The MCP manager: every configured server, on one event-loop thread.

The SDK is anyio-based, so the manager runs a blocking portal (one thread with
its own event loop) for the daemon's lifetime; each server's connection is a
task on it (:class:`~greenroom.tools.mcp.connection.Connection`). Everything
else in the daemon is threads: tool calls come from the executor's worker
threads and control requests from the gateway's, and both reach the loop
through the portal.

Servers start lazily. A server's tools are cached in the state database when
it lists them, so at daemon start they join the registry (``mcp.<server>.<tool>``)
without starting anything; the process starts on the first call. A server
that never listed its tools is started in the background at daemon start to
learn them. ``mcp add`` and ``mcp restart`` start the server at once, to show
whether it works.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.from_thread
import structlog

from greenroom.bus.events import Event, McpServerDisabled, McpServerStopped, McpToolsChanged
from greenroom.bus.protocol import McpServerView, McpToolView
from greenroom.tools.mcp.convert import McpToolInfo, import_tools, result_text
from greenroom.tools.mcp.errors import McpCallError, McpConflictError
from greenroom.tools.mcp.settings import McpConfig, McpSecrets, McpServerSpec, check_server, mask_args, mask_url
from greenroom.tools.mcp.store import McpStore
from greenroom.tools.registry import ToolRegistry
from greenroom.tools.spec import ToolContext, ToolSpec
from greenroom.tools.text import clip

if TYPE_CHECKING:
    from greenroom.tools.mcp.connection import Connection

log = structlog.get_logger(__name__)

_POLL_S = 0.1


class McpManager:
    """Owns the MCP servers: their connections, supervision, and tools in the registry.

    Args:
        store: the server definitions (state database).
        registry: where their tools go.
        config: the ``[mcp]`` settings.
        publish: puts an event on the bus (thread-safe, non-blocking).
        media_dir: where images and binary resources from results are written.
        log_dir: where stdio servers' stderr goes (``mcp-<name>.log``).
    """

    def __init__(
        self,
        store: McpStore,
        registry: ToolRegistry,
        config: McpConfig,
        publish: Callable[[Event], object],
        media_dir: Path,
        log_dir: Path,
    ) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.publish = publish
        self.media_dir = media_dir
        self.log_dir = log_dir
        self._conns: dict[str, Connection] = {}
        self._portal_cm: Any = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._host: concurrent.futures.Future[None] | None = None
        for stored in store.all():
            if stored.enabled and stored.tools is not None:
                self._register(stored.spec, stored.tools)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the event-loop thread; servers that never listed their tools start now."""
        self._portal_cm = anyio.from_thread.start_blocking_portal(name="mcp")
        self._portal = self._portal_cm.__enter__()
        self._host, _ = self._portal.start_task(self._run_host, name="mcp-host")
        for stored in self.store.all():
            if stored.enabled and stored.tools is None:
                self._portal.call(self._ensure_started, stored.spec.name)

    async def _run_host(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            task_status.started()
            await anyio.sleep_forever()

    def close(self, reason: str = "daemon stopping") -> None:
        """Stop every server (stdio ones get stdin closed, then are terminated) and the loop."""
        if self._portal is None:
            return
        portal, self._portal = self._portal, None
        with contextlib.suppress(Exception):
            portal.call(self._stop_all, reason)
        if self._host is not None:
            self._host.cancel()
        with contextlib.suppress(Exception):
            self._portal_cm.__exit__(None, None, None)

    async def _stop_all(self, reason: str) -> None:
        with anyio.move_on_after(self.config.start_timeout_s):
            async with anyio.create_task_group() as tg:
                for conn in list(self._conns.values()):
                    if conn.running:
                        tg.start_soon(self._stop, conn, reason)

    async def _stop(self, conn: Connection, reason: str) -> None:
        was_running = conn.running
        await conn.stop()
        if was_running:
            self.publish(McpServerStopped(server=conn.spec.name, reason=reason))

    # -- on the loop -----------------------------------------------------------------------

    def _connection(self, name: str) -> Connection:
        """The server's connection object, made on first use (the SDK is imported only then:
        it costs about a second and 35 MB, which a daemon without MCP servers should not pay)."""
        conn = self._conns.get(name)
        if conn is None:
            from greenroom.tools.mcp.connection import Connection, Hooks

            stored = self.store.get(name)
            hooks = Hooks(publish=self.publish, tools_listed=self._tools_listed, give_up=self._give_up)
            conn = Connection(stored.spec, stored.secrets, self.config, hooks, self.log_dir / f"mcp-{name}.log")
            self._conns[name] = conn
        return conn

    async def _ensure_started(self, name: str) -> Connection:
        if not self.store.get(name).enabled:
            raise McpCallError(f"MCP server {name} is disabled")
        conn = self._connection(name)
        if not conn.running:
            assert self._tg is not None
            conn.prepare()
            self._tg.start_soon(conn.supervise, name=f"mcp-{name}")
        return conn

    @staticmethod
    def _reset(conn: Connection) -> None:
        conn.error, conn.crashes = "", 0
        if conn.state == "disabled":
            conn.set_state("stopped")

    async def _start_and_wait(self, name: str) -> None:
        conn = await self._ensure_started(name)
        await conn.wait_settled(self.config.start_timeout_s + 5)

    def _tools_listed(self, conn: Connection, tools: list[Any]) -> int:
        infos, skipped = import_tools(conn.spec.name, tools, self.config.max_tools_per_server)
        added, removed = self._register(conn.spec, infos)
        self.store.set_tools(conn.spec.name, infos)
        if added or removed or not conn.announced:
            conn.announced = True
            self.publish(
                McpToolsChanged(server=conn.spec.name, added=added, removed=removed, total=len(infos), skipped=skipped)
            )
        for item in skipped:
            log.warning("mcp_tool_skipped", server=conn.spec.name, tool=item)
        return len(infos)

    async def _give_up(self, conn: Connection, reason: str) -> None:
        name = conn.spec.name
        self.store.set_enabled(name, False, reason)
        self.registry.remove_prefix(f"mcp.{name}.")
        conn.error = reason
        conn.set_state("disabled")
        self.publish(McpServerDisabled(server=name, reason=reason))

    async def _call(self, name: str, remote: str, args: dict[str, Any]) -> Any:
        conn = await self._ensure_started(name)
        return await conn.call(remote, args)

    # -- the registry ----------------------------------------------------------------------

    def _register(self, spec: McpServerSpec, infos: list[McpToolInfo]) -> tuple[list[str], list[str]]:
        guard = self.config.start_timeout_s + (spec.timeout_s or self.config.call_timeout_s) + 5
        specs = [
            ToolSpec(
                info.name,
                info.description,
                None,
                functools.partial(self._run_tool, spec.name, info.remote),
                "read" if info.read_only else "external",
                timeout_s=guard,  # the executor's outer guard; the manager's own timeouts fire first
                network=spec.uses_network,
                json_schema=info.input_schema,
                origin="mcp",
            )
            for info in infos
        ]
        return self.registry.replace_prefix(f"mcp.{spec.name}.", specs)

    def _run_tool(self, server: str, remote: str, ctx: ToolContext, args: dict[str, Any]) -> str:
        """A tool's ``run``: called on a worker thread, waits for the loop, honours cancel."""
        portal = self._portal
        if portal is None:
            raise McpCallError("MCP is not running (the daemon is stopping)")
        future = portal.start_task_soon(self._call, server, remote, dict(args))
        while True:
            try:
                result = future.result(timeout=_POLL_S)
                break
            except concurrent.futures.TimeoutError:
                if ctx.cancel.is_set():
                    future.cancel()
                    raise McpCallError("cancelled") from None
            except concurrent.futures.CancelledError:
                raise McpCallError("cancelled (MCP is stopping)") from None
        return clip(result_text(result, self.media_dir), ctx.max_output_bytes)

    # -- operations (any thread) -----------------------------------------------------------

    def _on_loop(self, fn: Any, *args: Any) -> Any:
        if self._portal is None:
            raise McpConflictError("MCP is not running")
        return self._portal.call(fn, *args)

    def add(self, spec: McpServerSpec, secrets: McpSecrets, *, enabled: bool = True) -> McpServerView:
        """Store a new server and (if enabled) start it now, to list its tools.

        Raises:
            McpConfigError: the definition is invalid. McpConflictError: the name is taken.
        """
        spec = check_server(spec, secrets)
        self.store.add(spec, secrets, enabled=enabled)
        if enabled:
            self._on_loop(self._start_and_wait, spec.name)
        return self.view(spec.name)

    def remove(self, name: str) -> None:
        self.store.get(name)
        conn = self._conns.get(name)
        if conn is not None:
            self._on_loop(self._stop, conn, "removed")
            self._conns.pop(name, None)
        removed = self.registry.remove_prefix(f"mcp.{name}.")
        self.store.remove(name)
        self.publish(McpToolsChanged(server=name, removed=removed, total=0))

    def set_enabled(self, name: str, on: bool) -> McpServerView:
        stored = self.store.get(name)
        conn = self._conns.get(name)
        if on:
            self.store.set_enabled(name, True)
            if conn is not None:
                self._on_loop(self._reset, conn)
            if stored.tools is not None:
                self._register(stored.spec, stored.tools)
            else:
                self._on_loop(self._start_and_wait, name)
            return self.view(name)
        reason = "disabled by a person"
        if conn is not None:
            self._on_loop(self._stop, conn, reason)
        self.store.set_enabled(name, False, reason)
        self.registry.remove_prefix(f"mcp.{name}.")
        self.publish(McpServerDisabled(server=name, reason=reason))
        return self.view(name)

    def restart(self, name: str) -> McpServerView:
        """Stop the server if it runs and start it again now (a disabled one stays disabled).

        Raises:
            McpConflictError: it is disabled.
        """
        stored = self.store.get(name)
        if not stored.enabled:
            raise McpConflictError(f"MCP server {name} is disabled ({stored.disabled_reason}); enable it first")
        conn = self._conns.get(name)
        if conn is not None:
            self._on_loop(self._stop, conn, "restart asked")
        self._on_loop(self._start_and_wait, name)
        return self.view(name)

    def view(self, name: str) -> McpServerView:
        """What clients see of server ``name`` (no secret values).

        Raises:
            McpNotFoundError: there is none.
        """
        stored = self.store.get(name)
        spec, conn = stored.spec, self._conns.get(name)
        state = "disabled" if not stored.enabled else (conn.state if conn else "stopped")
        tools = [
            McpToolView(
                name=t.name,
                remote=t.remote,
                description=t.description,
                side_effects="read" if t.read_only else "external",
                read_only=t.read_only,
            )
            for t in (stored.tools or [])
        ]
        return McpServerView(
            name=name,
            transport=spec.transport,
            command=mask_args(spec.command, stored.secrets),
            url=mask_url(spec.url),
            cwd=spec.cwd,
            network=spec.uses_network,
            enabled=stored.enabled,
            state=state,
            error=stored.disabled_reason if not stored.enabled else (conn.error if conn else ""),
            pid=conn.pid if conn else None,
            protocol=conn.protocol if conn else "",
            crashes=conn.crashes if conn else 0,
            uptime_s=conn.uptime() if conn else None,
            timeout_s=spec.timeout_s or self.config.call_timeout_s,
            header_names=spec.header_names,
            env_names=spec.env_names,
            tools=tools if stored.enabled else [],
        )

    def views(self) -> list[McpServerView]:
        return [self.view(s.spec.name) for s in self.store.all()]


__all__ = ["McpManager"]
