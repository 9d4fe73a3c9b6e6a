"""One MCP server's supervised connection, living on the MCP manager's event loop.

:meth:`Connection.supervise` is the server's whole life: connect (spawn the
command or reach the URL, negotiate the protocol, list the tools), serve
calls until the connection ends, and on an unexpected end (the process died,
the transport broke, the start timed out) restart after a backoff that
doubles with each crash in a row, publishing ``mcp.server.crashed`` each time.
After ``max_crashes`` in a row the server is disabled with the reason. A
connection that stayed up for ``calm_after_s`` starts the count over.

Tool-list changes arrive either as ``notifications/tools/list_changed``
(handshake-era servers, 2025-11-25 and before) or through a
``subscriptions/listen`` stream (2026-07-28 servers); both just wake the
refresher, which lists the tools again.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import anyio
import mcp_types
import psutil
import structlog
from mcp import Client, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from greenroom import __version__
from greenroom.bus.events import Event, McpServerCrashed, McpServerStarted
from greenroom.tools.mcp.errors import McpCallError
from greenroom.tools.mcp.settings import McpConfig, McpSecrets, McpServerSpec, mask_args, mask_url

log = structlog.get_logger(__name__)

MARKER_ENV = "GREENROOM_MCP_SERVER"
"""Set in a stdio server's environment so its process can be found (for its pid)."""
_MAX_PAGES = 50


@dataclass
class Hooks:
    """What a connection tells its manager (all called on the event loop)."""

    publish: Callable[[Event], object]
    tools_listed: Callable[[Connection, list[Any]], int]
    """Import a listing; returns how many tools were imported."""
    give_up: Callable[[Connection, str], Awaitable[None]]
    """Disable the server after too many crashes."""


def describe(exc: BaseException) -> str:
    """A one-line account of ``exc`` (the first leaf of an exception group)."""
    while getattr(exc, "exceptions", None):  # an exception group (Python 3.10 has no builtin name)
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, McpCallError) else f"{type(exc).__name__}: {text}"[:500]


class _WatchedRead:
    """A transport's read stream that reports when the server's side ends (EOF)."""

    def __init__(self, inner: Any, on_end: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedRead:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedRead:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def find_pid(marker: str) -> int | None:
    """The pid of this process's topmost child whose environment carries ``marker``."""
    found: list[psutil.Process] = []
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get(MARKER_ENV) == marker:
                found.append(proc)
    pids = {p.pid for p in found}
    for proc in found:
        with contextlib.suppress(psutil.Error):
            if proc.ppid() not in pids:
                return proc.pid
    return None


class Connection:
    """A server's connection and its supervision.

    Args:
        spec, secrets: the server's definition.
        config: the ``[mcp]`` settings.
        hooks: how it reports to the manager.
        errlog: where a stdio server's stderr goes (a file, never the daemon's log).
    """

    def __init__(
        self, spec: McpServerSpec, secrets_: McpSecrets, config: McpConfig, hooks: Hooks, errlog: Path
    ) -> None:
        self.spec = spec
        self.secrets = secrets_
        self.config = config
        self.hooks = hooks
        self.errlog = errlog
        self.state = "stopped"
        """stopped | starting | running | backoff | disabled"""
        self.error = ""
        self.crashes = 0
        self.pid: int | None = None
        self.protocol = ""
        self.started_at: float | None = None
        """``time.monotonic()`` when the current connection came up (read from any thread)."""
        self.announced = False
        """Its first tool listing has been announced on the bus."""
        self.client: Client | None = None
        self.running = False
        """The supervise loop is alive."""
        self._changed = anyio.Event()
        self._stop = False
        self._end = anyio.Event()
        self._end_reason = ""
        self._refresh = anyio.Event()
        self._done = anyio.Event()
        self._timed_out = False
        self._marker = secrets.token_hex(8)

    # -- state -----------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        self.state = state
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    def _finish(self, reason: str) -> None:
        if not self._end_reason:
            self._end_reason = reason
        self._end.set()

    async def wait_ready(self, timeout: float) -> Client:
        """The connected client, waiting while it starts or restarts.

        Raises:
            McpCallError: the server is stopped or disabled, or did not come up in time.
        """
        with anyio.move_on_after(timeout):
            while True:
                if self.state == "running" and self.client is not None:
                    return self.client
                if not self.running:
                    why = f": {self.error}" if self.error else ""
                    raise McpCallError(f"MCP server {self.spec.name} is {self.state}{why}")
                await self._changed.wait()
        raise McpCallError(f"MCP server {self.spec.name} did not start within {timeout:g}s")

    async def wait_settled(self, timeout: float) -> None:
        """Wait until this start attempt is over: up, crashed (backing off), disabled or stopped."""
        with anyio.move_on_after(timeout):
            while self.state == "starting":
                await self._changed.wait()

    async def stop(self) -> None:
        """Stop it (closing stdin, then terminating a stdio server) and wait until it is down."""
        self._stop = True
        self._finish("stopped")
        self.set_state(self.state)  # wake anyone waiting for readiness
        if self.running:
            await self._done.wait()

    # -- supervision -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Mark it as starting, before :meth:`supervise` is scheduled (so waiters wait for it)."""
        self.running, self._stop, self._done = True, False, anyio.Event()
        self.crashes, self.error = 0, ""
        self.set_state("starting")

    async def supervise(self) -> None:
        """Connect, serve, and restart after crashes until stopped or given up (call
        :meth:`prepare` first)."""
        attempt = 0
        try:
            while not self._stop:
                self.set_state("starting")
                up_since = anyio.current_time()
                try:
                    await self._session(attempt)
                    error = self._end_reason or "the connection closed"
                except Exception as exc:
                    error = describe(exc)
                if self._stop:
                    break
                uptime = anyio.current_time() - up_since
                self.crashes = 1 if uptime >= self.config.calm_after_s else self.crashes + 1
                self.error = error
                attempt += 1
                log.warning("mcp_server_crashed", server=self.spec.name, error=error, crashes=self.crashes)
                if self.crashes >= self.config.max_crashes:
                    await self.hooks.give_up(self, f"crashed {self.crashes} times in a row; last error: {error}")
                    break
                delay = min(self.config.backoff_base_s * 2 ** (self.crashes - 1), self.config.backoff_max_s)
                self.hooks.publish(
                    McpServerCrashed(server=self.spec.name, error=error, crashes=self.crashes, restart_in_s=delay)
                )
                self.set_state("backoff")
                with anyio.move_on_after(delay):
                    await self._end.wait()  # set by stop()
        finally:
            self.client, self.pid, self.running = None, None, False
            if self.state != "disabled":
                self.set_state("stopped")
            self._done.set()

    async def _session(self, attempt: int) -> None:
        """One connection, from spawn to its end; returns when it ends (stopped or lost)."""
        self._end, self._end_reason, self._refresh, self._timed_out = anyio.Event(), "", anyio.Event(), False
        started = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watchdog, started, tg.cancel_scope)
            async with (
                self._errlog() as errlog,
                Client(
                    self._transport(errlog),
                    cache=None,
                    message_handler=self._on_message,
                    client_info=mcp_types.Implementation(name="greenroom", version=__version__),
                ) as client,
            ):
                tools = await self._list_tools(client)
                if self.spec.command:
                    self.pid = await anyio.to_thread.run_sync(find_pid, self._marker)
                self.protocol = client.protocol_version
                count = self.hooks.tools_listed(self, tools)
                started.set()
                self.client, self.started_at = client, time.monotonic()
                self.hooks.publish(self._started_event(count, attempt))
                self.set_state("running")
                try:
                    async with anyio.create_task_group() as inner:
                        inner.start_soon(self._refresher, client)
                        caps = client.server_capabilities.tools
                        if client.protocol_version in MODERN_PROTOCOL_VERSIONS and caps and caps.list_changed:
                            inner.start_soon(self._listener, client)
                        await self._end.wait()
                        inner.cancel_scope.cancel()
                finally:
                    self.client = None
        if self._timed_out:
            raise McpCallError(f"did not start within {self.config.start_timeout_s:g}s")

    async def _watchdog(self, started: anyio.Event, scope: anyio.CancelScope) -> None:
        with anyio.move_on_after(self.config.start_timeout_s):
            await started.wait()
            return
        self._timed_out = True
        scope.cancel()

    def _started_event(self, tools: int, attempt: int) -> McpServerStarted:
        return McpServerStarted(
            server=self.spec.name,
            transport="http" if self.spec.url else "stdio",
            command=mask_args(self.spec.command, self.secrets),
            url=mask_url(self.spec.url),
            pid=self.pid,
            tools=tools,
            protocol=self.protocol,
            attempt=attempt,
            reason="restarted after a crash" if attempt else "started",
        )

    @contextlib.asynccontextmanager
    async def _errlog(self) -> AsyncIterator[TextIO | None]:
        if not self.spec.command:
            yield None
            return
        self.errlog.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.errlog, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            yield f

    @contextlib.asynccontextmanager
    async def _transport(self, errlog: TextIO | None) -> AsyncIterator[Any]:
        """The SDK transport, its read side watched for the server's end."""
        on_end = lambda: self._finish("the server closed the connection")  # noqa: E731
        if self.spec.url:
            http = create_mcp_http_client(headers=dict(self.secrets.headers) or None)
            async with http, streamable_http_client(self.spec.url, http_client=http) as (read, write):
                yield _WatchedRead(read, on_end), write
            return
        params = StdioServerParameters(
            command=self.spec.command[0],
            args=self.spec.command[1:],
            env={**self.secrets.env, MARKER_ENV: self._marker},
            cwd=self.spec.cwd or None,
        )
        assert errlog is not None
        async with stdio_client(params, errlog=errlog) as (read, write):
            yield _WatchedRead(read, on_end), write

    # -- tool lists ------------------------------------------------------------------------

    async def _list_tools(self, client: Client) -> list[Any]:
        tools: list[Any] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor or len(tools) > self.config.max_tools_per_server:
                break
        return tools

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._refresh.set()
        elif isinstance(message, Exception):
            log.info("mcp_transport_error", server=self.spec.name, error=describe(message))

    async def _refresher(self, client: Client) -> None:
        while True:
            await self._refresh.wait()
            self._refresh = anyio.Event()
            try:
                with anyio.fail_after(self.config.start_timeout_s):
                    tools = await self._list_tools(client)
            except Exception as exc:
                log.warning("mcp_relist_failed", server=self.spec.name, error=describe(exc))
                continue
            self.hooks.tools_listed(self, tools)

    async def _listener(self, client: Client) -> None:
        """Follow a 2026-07-28 server's ``subscriptions/listen`` stream for tool-list changes."""
        while True:
            try:
                async with client.listen(tools_list_changed=True) as sub:
                    async for _ in sub:
                        self._refresh.set()
            except Exception as exc:
                log.info("mcp_listen_ended", server=self.spec.name, error=describe(exc))
            await anyio.sleep(2.0)  # re-listen (the stream has no replay: list again too)
            self._refresh.set()

    # -- calls -----------------------------------------------------------------------------

    @property
    def call_timeout(self) -> float:
        return self.spec.timeout_s or self.config.call_timeout_s

    async def call(self, remote: str, args: dict[str, Any]) -> Any:
        """Call tool ``remote``; returns the SDK's ``CallToolResult``.

        Raises:
            McpCallError: the server is down or disabled, the call timed out, or it failed.
        """
        client = await self.wait_ready(self.config.start_timeout_s)
        name = self.spec.name
        try:
            with anyio.fail_after(self.call_timeout):
                return await client.call_tool(remote, args)
        except TimeoutError:
            raise McpCallError(f"MCP server {name}: {remote} timed out after {self.call_timeout:g}s") from None
        except MCPError as exc:
            if exc.code == mcp_types.CONNECTION_CLOSED:
                self._finish("the connection closed during a call")
                raise McpCallError(f"MCP server {name} closed the connection during the call") from None
            raise McpCallError(f"MCP server {name}: {exc}") from None
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            self._finish(f"the transport broke: {describe(exc)}")
            raise McpCallError(f"MCP server {name}: the connection broke ({describe(exc)})") from None
        except Exception as exc:  # a malformed result (pydantic), a result off its output schema (RuntimeError)
            raise McpCallError(f"MCP server {name}: {describe(exc)}") from None

    def uptime(self) -> float | None:
        if self.started_at is None or self.state != "running":
            return None
        return round(max(0.0, time.monotonic() - self.started_at), 3)


__all__ = ["MARKER_ENV", "Connection", "Hooks", "describe", "find_pid"]
