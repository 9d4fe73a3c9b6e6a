"""The client library: talk to a running daemon over nng (sync and async).

Both clients say hello first, then offer one method per request. ``follow``
yields the timeline in order and without gaps: it replays what happened since
``from_seq`` from the journal, then reads the live timeline, and when it sees
a gap in ``seq`` (nng dropped frames because this client was slow) it replays
the missing range before going on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import TypeVar

import pynng

from greenroom.bus import protocol as p
from greenroom.bus.codec import Codec, decode_envelope, encode
from greenroom.bus.envelope import Envelope
from greenroom.bus.memory_records import ForgetReport, MemoryStats, SearchResult
from greenroom.clients.chat_client import ChatRequests
from greenroom.clients.errors import DaemonNotRunningError, RequestTooLargeError, ServerError
from greenroom.clients.remote import control_url, open_timeline

R = TypeVar("R")

CONTROL_SOCKET = "control.ipc"
_reply_codec: Codec[p.Reply] = Codec(p.Reply)


def decode_reply(frame: bytes, expected: type[R]) -> R:
    reply, _ = _reply_codec.decode(frame)
    if isinstance(reply, p.ErrorReply):
        raise ServerError(reply.code, reply.message)
    if not isinstance(reply, expected):
        raise ServerError("internal", f"expected a {expected.__name__} reply, got {type(reply).__name__}")
    return reply


def _encode_request(request: p.Request, hello: p.HelloReply | None) -> bytes:
    """The request's frame, refused here when the daemon said it would drop one that large."""
    frame = encode(request)
    limit = hello.max_frame_bytes if hello is not None else 0
    if limit and len(frame) > limit:
        raise RequestTooLargeError(
            f"the {request.__struct_config__.tag} request is {len(frame):,} bytes; the daemon accepts at most {limit:,}"
        )
    return frame


def _not_running(runtime_dir: Path, exc: Exception) -> DaemonNotRunningError:
    return DaemonNotRunningError(
        f"no greenroom daemon is running (nothing answers at {runtime_dir / CONTROL_SOCKET}: {exc}); "
        "start one with `greenroom start`"
    )


def _dial_control(runtime_dir: Path, timeout_ms: int, url: str | None = None) -> pynng.Req0:
    req = pynng.Req0(recv_timeout=timeout_ms, send_timeout=timeout_ms)
    try:
        req.dial(control_url(url) if url else f"ipc://{runtime_dir / CONTROL_SOCKET}", block=True)
    except pynng.NNGException as exc:
        req.close()
        if url:
            raise DaemonNotRunningError(f"nothing answers at {url}: {exc}") from None
        raise _not_running(runtime_dir, exc) from None
    return req


class _Cursor:
    """Keeps a timeline in order: decides, for each live frame, what to yield."""

    def __init__(self, next_seq: int, task_id: str | None) -> None:
        self.next_seq = next_seq
        self.task_id = task_id

    def advance(self, page: p.Events, upto: int | None) -> bool:
        """Move past a replayed page; True when the replay is complete (or stuck)."""
        advanced = page.next_seq > self.next_seq
        self.next_seq = max(self.next_seq, page.next_seq)
        return not advanced or self.next_seq > (page.head if upto is None else upto)

    def wants(self, env: Envelope) -> bool:
        return self.task_id is None or env.task_id == self.task_id

    @staticmethod
    def parse(frame: bytes) -> Envelope:
        _topic, _, body = frame.partition(b" ")
        return decode_envelope(body)


class Client(ChatRequests):
    """A synchronous connection to the daemon (chat requests: ``clients/chat_client.py``).

    Args:
        runtime_dir: the daemon's runtime dir (where its sockets are).
        name: tells the daemon (and its logs) who is asking.
        timeout: seconds to wait for each reply.
        url: a remote daemon (``ws://host:port`` or ``tcp://host:port``) instead of the local ipc one.
        token: the token for ``url`` (``greenroom token create``).
    """

    def __init__(
        self,
        runtime_dir: Path,
        *,
        name: str = "greenroom-python",
        timeout: float = 10.0,
        url: str | None = None,
        token: str = "",
    ) -> None:
        self.runtime_dir = Path(runtime_dir)
        self.name = name
        self.url = url
        self.token = token
        self._timeout_ms = int(timeout * 1000)
        self._req: pynng.Req0 | None = None
        self._lock = threading.Lock()
        self.hello: p.HelloReply | None = None
        self.healed = 0
        """Events ``follow`` recovered by replay after the live timeline dropped them."""

    def connect(self) -> Client:
        """Dial the control socket and say hello.

        Raises:
            DaemonNotRunningError: nothing answers.
            ServerError: the daemon refused the handshake (protocol version).
        """
        self._req = _dial_control(self.runtime_dir, self._timeout_ms, self.url)
        self.hello = self.request(self.hello_request(), p.HelloReply)
        return self

    def __enter__(self) -> Client:
        return self.connect() if self._req is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._req is not None:
            self._req.close()
            self._req = None

    def request(self, request: p.Request, expected: type[R]) -> R:
        """Send one request and decode its reply.

        Raises:
            ServerError: the daemon answered with an error.
            DaemonNotRunningError: the daemon went away.
        """
        if self._req is None:
            self.connect()
        assert self._req is not None
        # One nng context per request: the client may be used from several threads at once
        # (say, one following the timeline while another answers a confirmation).
        data = _encode_request(request, self.hello)
        ctx = self._req.new_context()
        try:
            ctx.send(data)
            frame = ctx.recv()
        except pynng.Timeout:
            raise DaemonNotRunningError(f"the daemon did not answer within {self._timeout_ms / 1000:g}s") from None
        except pynng.NNGException as exc:
            raise _not_running(self.runtime_dir, exc) from None
        finally:
            ctx.close()
        return decode_reply(frame, expected)

    def hello_request(self) -> p.Hello:
        return p.Hello(protocol=p.PROTOCOL_VERSION, client=self.name, token=self.token)

    # -- requests --------------------------------------------------------------------------

    def submit(self, goal: str, run_at: float | None = None) -> p.Submitted:
        return self.request(p.Submit(goal=goal, run_at=run_at), p.Submitted)

    def create_token(self, role: str = "viewer", name: str = "", ttl_s: float | None = None) -> p.TokenCreated:
        """Mint a token for ws/tcp clients (works only over ipc)."""
        return self.request(p.TokenCreate(role=role, name=name, ttl_s=ttl_s), p.TokenCreated)  # type: ignore[arg-type]

    def list_tokens(self) -> list[p.TokenInfo]:
        return self.request(p.TokenList(), p.TokensReply).tokens

    def revoke_token(self, token_id: str) -> p.Ok:
        return self.request(p.TokenRevoke(token_id=token_id), p.Ok)

    def models(self) -> p.ModelsReply:
        return self.request(p.ListModels(), p.ModelsReply)

    def preview(self, confirmation_id: str) -> p.PreviewReply:
        return self.request(p.Preview(confirmation_id=confirmation_id), p.PreviewReply)

    def cancel(self, task_id: str) -> p.Ok:
        return self.request(p.Cancel(task_id=task_id), p.Ok)

    def confirm(self, confirmation_id: str, approved: bool, remember: bool = False, scope: str = "tool") -> p.Ok:
        """Answer a confirmation; with ``remember``, store the decision for this tool (or only
        this ``path`` folder, ``domain`` or exact ``command``)."""
        request = p.Confirm(
            confirmation_id=confirmation_id,
            approved=approved,
            remember=remember,
            scope=scope,  # type: ignore[arg-type]
        )
        return self.request(request, p.Ok)

    def tools(self) -> list[p.ToolInfo]:
        return self.request(p.ListTools(), p.ToolsReply).tools

    def policy(self) -> p.PolicyReply:
        return self.request(p.ShowPolicy(), p.PolicyReply)

    def test_policy(self, tool: str, args: dict[str, object]) -> p.DecisionReply:
        return self.request(p.CheckPolicy(tool=tool, args=args), p.DecisionReply)

    def set_offline(self, on: bool) -> p.Ok:
        return self.request(p.SetOffline(on=on), p.Ok)

    def tasks(self, status: list[str] | None = None) -> list[p.TaskView]:
        return self.request(p.ListTasks(status=status or []), p.Tasks).tasks  # type: ignore[arg-type]

    def task(self, task_id: str) -> p.TaskView:
        return self.request(p.GetTask(task_id=task_id), p.TaskReply).task

    def replay(
        self,
        from_seq: int = 1,
        to_seq: int | None = None,
        task_id: str | None = None,
        limit: int = 1000,
    ) -> p.Events:
        return self.request(p.Replay(from_seq=from_seq, to_seq=to_seq, task_id=task_id, limit=limit), p.Events)

    def status(self) -> p.StatusReply:
        return self.request(p.Status(), p.StatusReply)

    def shutdown(self) -> p.Stopping:
        """Ask the daemon to stop (tasks park); it replies, then exits. ``wait_for_exit`` waits for that."""
        return self.request(p.Shutdown(), p.Stopping)

    def generate(
        self,
        messages: list[tuple[str, str]],
        max_tokens: int = 256,
        temperature: float = 0.0,
        purpose: str = "chat",
        images: list[str] | None = None,
    ) -> p.Generated:
        """Generate with the daemon's active model; text streams on the timeline meanwhile.

        ``images`` go with the last message (a vision model answers).
        """
        msgs = [p.ChatMessage(role, content) for role, content in messages]  # type: ignore[arg-type]
        if images:
            msgs[-1] = p.ChatMessage(msgs[-1].role, msgs[-1].content, list(images))
        request = p.Generate(messages=msgs, max_tokens=max_tokens, temperature=temperature, purpose=purpose)
        return self.request(request, p.Generated)

    def load_model(self, model: str | None = None) -> str:
        return self.request(p.LoadModel(model=model), p.Ok).detail

    def pull_model(self, model: str, offline: bool = False) -> int:
        """Start a download in the daemon; returns the seq to follow from for its events."""
        return self.request(p.PullModel(model=model, offline=offline), p.Ok).seq

    def unload_model(self, model: str | None = None) -> bool:
        return self.request(p.UnloadModel(model=model), p.Ok).detail == "unloaded"

    # -- memory ----------------------------------------------------------------------------

    def memory_add(self, text: str, tags: list[str] | None = None, source: str = "note") -> str:
        return self.request(p.MemoryAdd(text=text, tags=tags or [], source=source), p.MemoryAdded).item_id

    def memory_ingest(self, paths: list[str], tags: list[str] | None = None) -> p.IngestStarted:
        """Start an ingest; follow the timeline from ``seq + 1`` for its ``memory.ingest.*`` events."""
        return self.request(p.MemoryIngest(paths=paths, tags=tags or []), p.IngestStarted)

    def memory_search(
        self, query: str, k: int = 10, filter: p.MemoryFilter | None = None, rerank: bool | None = None
    ) -> SearchResult:
        request = p.MemorySearch(query=query, k=k, filter=filter or p.MemoryFilter(), rerank=rerank)
        return self.request(request, p.MemoryHits).result

    def memory_forget(
        self,
        item_ids: list[str] | None = None,
        filter: p.MemoryFilter | None = None,
        query: str | None = None,
        limit: int = 1,
    ) -> ForgetReport:
        request = p.MemoryForget(item_ids=item_ids or [], filter=filter or p.MemoryFilter(), query=query, limit=limit)
        return self.request(request, p.ForgetReply).report

    def memory_stats(self) -> MemoryStats:
        return self.request(p.MemoryStatsRequest(), p.MemoryStatsReply).stats

    def memory_watch(self, paths: list[str], tags: list[str] | None = None) -> p.WatchesReply:
        """Keep folders indexed (absolute paths); follow from ``seq + 1`` for the first ingest's events."""
        return self.request(p.MemoryWatch(paths=paths, tags=tags or []), p.WatchesReply)

    def memory_watches(self) -> list[p.WatchView]:
        return self.request(p.MemoryWatches(), p.WatchesReply).watches

    def memory_unwatch(self, path: str) -> p.Ok:
        return self.request(p.MemoryUnwatch(path=path), p.Ok)

    # -- schedules -------------------------------------------------------------------------

    def schedule_add(
        self,
        goal: str,
        *,
        cron: str = "",
        every_s: float = 0.0,
        tz: str = "",
        catch_up: str = "skip",
        start: float | None = None,
        max_failures: int | None = None,
    ) -> p.ScheduleView:
        """Add a recurring schedule (a cron expression or an interval in seconds)."""
        request = p.ScheduleAdd(
            goal=goal, cron=cron, every_s=every_s, tz=tz, catch_up=catch_up,  # type: ignore[arg-type]
            start=start, max_failures=max_failures,
        )  # fmt: skip
        return self.request(request, p.ScheduleReply).schedule

    def schedules(self, removed: bool = False) -> list[p.ScheduleView]:
        return self.request(p.ListSchedules(removed=removed), p.Schedules).schedules

    def schedule(self, schedule_id: str) -> p.ScheduleView:
        return self.request(p.GetSchedule(schedule_id=schedule_id), p.ScheduleReply).schedule

    def schedule_pause(self, schedule_id: str) -> p.Ok:
        return self.request(p.PauseSchedule(schedule_id=schedule_id), p.Ok)

    def schedule_resume(self, schedule_id: str) -> p.Ok:
        return self.request(p.ResumeSchedule(schedule_id=schedule_id), p.Ok)

    def schedule_remove(self, schedule_id: str) -> p.Ok:
        return self.request(p.RemoveSchedule(schedule_id=schedule_id), p.Ok)

    def schedule_run(self, schedule_id: str) -> p.Submitted:
        """Run a schedule's goal now, outside its slots."""
        return self.request(p.RunSchedule(schedule_id=schedule_id), p.Submitted)

    # -- MCP servers ---------------------------------------------------------------------

    def mcp_add(
        self,
        name: str,
        *,
        command: list[str] | None = None,
        url: str = "",
        headers: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        cwd: str = "",
        network: bool = False,
        timeout_s: float = 0.0,
        enabled: bool = True,
    ) -> p.McpServerView:
        """Add an MCP server (a stdio ``command`` or a Streamable HTTP ``url``); the daemon starts
        it to list its tools. Header and env values are stored by the daemon and never shown again."""
        request = p.McpAdd(
            name=name, command=list(command or []), url=url, headers=dict(headers or {}), env=dict(env or {}),
            cwd=cwd, network=network, timeout_s=timeout_s, enabled=enabled,
        )  # fmt: skip
        return self.request(request, p.McpServerReply).server

    def mcp_list(self) -> list[p.McpServerView]:
        return self.request(p.McpList(), p.McpServersReply).servers

    def mcp_show(self, name: str) -> p.McpServerView:
        return self.request(p.McpShow(name=name), p.McpServerReply).server

    def mcp_remove(self, name: str) -> p.Ok:
        return self.request(p.McpRemove(name=name), p.Ok)

    def mcp_enable(self, name: str, on: bool = True) -> p.McpServerView:
        return self.request(p.McpEnable(name=name, on=on), p.McpServerReply).server

    def mcp_restart(self, name: str) -> p.McpServerView:
        return self.request(p.McpRestart(name=name), p.McpServerReply).server

    # -- timeline --------------------------------------------------------------------------

    def _replay_into(self, cursor: _Cursor, upto: int | None) -> Iterator[Envelope]:
        """Replay ``cursor.next_seq .. upto`` (or to the head) and advance the cursor."""
        while True:
            page = self.replay(cursor.next_seq, upto, cursor.task_id)
            yield from page.events
            if cursor.advance(page, upto):
                return

    def follow(
        self, from_seq: int | None = None, task_id: str | None = None, idle: float | None = None
    ) -> Generator[Envelope | None, None, None]:
        """Yield committed events in seq order, forever (close the generator to stop).

        Args:
            from_seq: first seq wanted; None for "from now on".
            task_id: only this task's events.
            idle: if set, yield ``None`` after this many seconds without events
                (a chance for the caller to do other work).
        """
        assert self.hello is not None or self.connect()
        assert self.hello is not None
        if self.url:  # a ws timeline ticket is single-use: a fresh hello brings a fresh one
            self.hello = self.request(self.hello_request(), p.HelloReply)
        sub = open_timeline(self.hello, self.token, self.name, int((idle or 0.5) * 1000))
        try:
            head = self.status().head
            cursor = _Cursor(head + 1 if from_seq is None else max(1, from_seq), task_id)
            yield from self._replay_into(cursor, None)
            while True:
                try:
                    frame = sub.recv()
                except pynng.Timeout:
                    # Quiet: make sure nothing at the tail was dropped, then report idleness.
                    yield from self._replay_into(cursor, None)
                    if idle is not None:
                        yield None
                    continue
                env = _Cursor.parse(frame)
                if env.seq < cursor.next_seq:
                    continue
                if env.seq > cursor.next_seq:
                    self.healed += env.seq - cursor.next_seq
                    yield from self._replay_into(cursor, env.seq - 1)
                cursor.next_seq = env.seq + 1
                if cursor.wants(env):
                    yield env
        finally:
            sub.close()


class AsyncClient:
    """An asyncio/trio connection to the daemon; requests may run concurrently.

    Args: as for ``Client``.
    """

    def __init__(self, runtime_dir: Path, *, name: str = "greenroom-python-async", timeout: float = 10.0) -> None:
        self.runtime_dir = Path(runtime_dir)
        self.name = name
        self._timeout_ms = int(timeout * 1000)
        self._req: pynng.Req0 | None = None
        self.hello: p.HelloReply | None = None

    async def connect(self) -> AsyncClient:
        """As ``Client.connect``."""
        self._req = _dial_control(self.runtime_dir, self._timeout_ms)
        self.hello = await self.request(p.Hello(protocol=p.PROTOCOL_VERSION, client=self.name), p.HelloReply)
        return self

    async def __aenter__(self) -> AsyncClient:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._req is not None:
            self._req.close()
            self._req = None

    async def request(self, request: p.Request, expected: type[R]) -> R:
        """As ``Client.request``; each call uses its own nng context, so calls may overlap."""
        assert self._req is not None, "connect() first"
        data = _encode_request(request, self.hello)
        ctx = self._req.new_context()
        try:
            await ctx.asend(data)
            frame = await ctx.arecv()
        except pynng.Timeout:
            raise DaemonNotRunningError("the daemon did not answer in time") from None
        except pynng.NNGException as exc:
            raise _not_running(self.runtime_dir, exc) from None
        finally:
            ctx.close()
        return decode_reply(frame, expected)

    async def submit(self, goal: str, run_at: float | None = None) -> p.Submitted:
        return await self.request(p.Submit(goal=goal, run_at=run_at), p.Submitted)

    async def cancel(self, task_id: str) -> p.Ok:
        return await self.request(p.Cancel(task_id=task_id), p.Ok)

    async def confirm(self, confirmation_id: str, approved: bool, remember: bool = False) -> p.Ok:
        return await self.request(
            p.Confirm(confirmation_id=confirmation_id, approved=approved, remember=remember), p.Ok
        )

    async def tasks(self) -> list[p.TaskView]:
        return (await self.request(p.ListTasks(), p.Tasks)).tasks

    async def task(self, task_id: str) -> p.TaskView:
        return (await self.request(p.GetTask(task_id=task_id), p.TaskReply)).task

    async def replay(
        self,
        from_seq: int = 1,
        to_seq: int | None = None,
        task_id: str | None = None,
        limit: int = 1000,
    ) -> p.Events:
        return await self.request(p.Replay(from_seq=from_seq, to_seq=to_seq, task_id=task_id, limit=limit), p.Events)

    async def status(self) -> p.StatusReply:
        return await self.request(p.Status(), p.StatusReply)

    async def follow(self, from_seq: int | None = None, task_id: str | None = None) -> AsyncIterator[Envelope]:
        """As ``Client.follow`` (without idle ticks)."""
        assert self.hello is not None, "connect() first"
        sub = pynng.Sub0(recv_buffer_size=8192)
        sub.subscribe(b"")
        try:
            sub.dial(self.hello.timeline, block=True)
            head = (await self.status()).head
            cursor = _Cursor(head + 1 if from_seq is None else max(1, from_seq), task_id)

            async def catch_up(upto: int | None) -> list[Envelope]:
                out: list[Envelope] = []
                while True:
                    page = await self.replay(cursor.next_seq, upto, cursor.task_id)
                    out.extend(page.events)
                    if cursor.advance(page, upto):
                        return out

            for env in await catch_up(None):
                yield env
            while True:
                env = _Cursor.parse(await sub.arecv())
                if env.seq < cursor.next_seq:
                    continue
                if env.seq > cursor.next_seq:
                    for missed in await catch_up(env.seq - 1):
                        yield missed
                cursor.next_seq = env.seq + 1
                if cursor.wants(env):
                    yield env
        finally:
            sub.close()


def default_runtime_dir() -> Path:
    """The runtime dir clients look in: ``$GREENROOM_RUNTIME_DIR`` or the platform default."""
    env = os.environ.get("GREENROOM_RUNTIME_DIR")
    if env:
        return Path(env).expanduser()
    from greenroom.runtime.paths import platform_runtime_dir

    return platform_runtime_dir()


__all__ = ["AsyncClient", "Client", "default_runtime_dir"]
