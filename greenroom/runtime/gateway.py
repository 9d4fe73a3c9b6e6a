"""The nng gateway: the control socket (Rep0) and the timeline sockets (Pub0).

Control requests are served by worker threads, each with its own Rep0
context (``workers.py``), so slow requests do not hold up others and no
blocking work touches the event loop; replays go to their own workers with a
bounded share (``replay.py``). The timeline gets each committed batch straight
from the bus (``timeline.py``): frames are ``<topic> <body>``, the topic being
the event type (``task.submitted``); the msgpack timeline sends the journal's
own bytes, the JSON timeline encodes only while someone listens.
A slow client loses frames at its own nng queue, never slowing the bus or
other clients; it notices the gap in ``seq`` and asks ``replay``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

import anyio
import msgspec
import pynng
import structlog

from greenroom import __version__
from greenroom.bus import protocol as p
from greenroom.bus.chat_protocol import CHAT_REQUESTS
from greenroom.bus.codec import Codec, Format, detect_format, encode
from greenroom.bus.errors import DecodeError
from greenroom.bus.events import Error
from greenroom.memory import BadMemoryInput, Filters
from greenroom.runtime import lifecycle
from greenroom.runtime.access import Access
from greenroom.runtime.config import Config
from greenroom.runtime.core import Runtime
from greenroom.runtime.errors import RequestError
from greenroom.runtime.nng import listen_private
from greenroom.runtime.paths import (
    CONTROL_SOCKET,
    STATE_FILE,
    TIMELINE_BATCH_SOCKET,
    TIMELINE_JSON_SOCKET,
    TIMELINE_SOCKET,
    ensure_private_dir,
    ipc_url,
)
from greenroom.runtime.replay import Replays, decoded_events, settled_head
from greenroom.runtime.timeline import Timeline
from greenroom.runtime.tokens import TokenStore
from greenroom.runtime.transports import Transports
from greenroom.runtime.views import models_view, preview
from greenroom.runtime.workers import ControlWorkers, Countdown

log = structlog.get_logger(__name__)

_request_codec: Codec[p.Request] = Codec(p.Request)
REQUEST_ID_BYTES = 4
"""The REQ protocol's header on every request (one hop's request id), counted in nng's receive limit."""


def _filters(f: p.MemoryFilter) -> Filters:
    try:
        return Filters(tags=tuple(f.tags), source=f.source, since=f.since, until=f.until, uri_prefix=f.path_prefix)
    except BadMemoryInput as exc:
        raise RequestError("bad_request", str(exc)) from exc


class Gateway:
    """Serves clients over nng.

    Args:
        runtime: what requests operate on.
        config: sockets and limits.
    """

    def __init__(self, runtime: Runtime, config: Config) -> None:
        self.runtime = runtime
        self.config = config
        rdir = config.runtime_dir
        self.control_url = ipc_url(rdir, CONTROL_SOCKET)
        self.timeline_url = ipc_url(rdir, TIMELINE_SOCKET)
        self.timeline_json_url = ipc_url(rdir, TIMELINE_JSON_SOCKET)
        self.timeline_batch_url = ipc_url(rdir, TIMELINE_BATCH_SOCKET)
        self._hello: dict[int, str] = {}  # pipe id -> the client's name from its hello
        self._clients = 0
        self._lock = threading.Lock()
        # ws/tcp clients: tokens, roles and their listeners live in access.py / transports.py.
        self.access = Access(
            TokenStore(ensure_private_dir(config.data_dir) / STATE_FILE),
            publish=lambda event: runtime.bus.publish(event, source="gateway"),
            sensitive=runtime.tools.is_sensitive,
            failures_per_minute=config.gateway.hello_failures_per_minute,
        )
        self.transports = Transports(self.access, runtime, config)
        self.accepting = threading.Event()
        """Set by the daemon once the actors run: requests that come earlier wait in nng's queue (a
        hello answered before the actors start would let a client ask for them too soon)."""
        self.timeline: Timeline | None = None
        """The timeline sender while serving (tests reach its sockets)."""
        self.on_shutdown: Callable[[str], None] | None = None
        """Set by the daemon: starts an orderly stop (the ``shutdown`` request; the argument is who asked)."""
        self.replays = Replays(
            runtime.journal,
            lambda: settled_head(runtime.bus),  # see there: the journal's head, its listeners run
            lambda pipe_id: self.access.role_of(pipe_id) != "viewer",
            self._serve,
            workers=config.gateway.replay_workers,
            share=config.gateway.replay_share,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def serve(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind the sockets, report started, serve until cancelled, then close them."""
        gw = self.config.gateway
        ensure_private_dir(self.config.runtime_dir)
        # nng drops (and disconnects) frames over the limit before they are read into memory;
        # the client library checks the size first and says so (HelloReply.max_frame_bytes).
        # nng counts the request id the REQ side prepends against the limit, so a frame of
        # exactly max_frame_bytes needs those bytes on top (without them it vanished unanswered).
        rep = pynng.Rep0(recv_max_size=gw.max_frame_bytes + REQUEST_ID_BYTES)
        pub = pynng.Pub0(send_buffer_size=gw.timeline_buffer)
        pub_json = pynng.Pub0(send_buffer_size=gw.timeline_buffer)
        pub_batch = pynng.Pub0(send_buffer_size=gw.timeline_buffer)
        rep.add_pre_pipe_connect_cb(self.transports.control_pipe)
        rep.add_post_pipe_connect_cb(self._pipe_added)
        rep.add_post_pipe_remove_cb(self._pipe_removed)
        bus = self.runtime.bus
        timeline = Timeline(bus.journal, pub, pub_json, pub_batch=pub_batch)
        self.timeline = timeline
        workers = ControlWorkers(rep, self._admit, self._serve, self._crashed, self.replays, self.accepting)
        try:
            for sock, url in (
                (rep, self.control_url),
                (pub, self.timeline_url),
                (pub_json, self.timeline_json_url),
                (pub_batch, self.timeline_batch_url),
            ):
                listen_private(sock, url)
            threads = gw.workers + self.replays.workers + 1
            limiter = anyio.CapacityLimiter(threads)
            running = Countdown(threads)
            async with anyio.create_task_group() as tg:
                for _ in range(gw.workers):
                    tg.start_soon(self._run_thread, workers.loop, workers.open_context(), limiter, running)
                for _ in range(self.replays.workers):
                    tg.start_soon(self._run_thread, lambda _: self.replays.run(), None, limiter, running)
                # Each committed batch comes straight here, first of the bus's listeners: its frames leave
                # before the indexes fold it, and every request waits for them first (``_serve``), so a
                # client that sees an event and acts on it at once finds it folded (cancel, chat send and
                # task status agree with the timeline).
                bus.add_listener(timeline.offer, first=True)
                tg.start_soon(self._run_thread, lambda _: timeline.run(), None, limiter, running)
                await anyio.to_thread.run_sync(running.wait)  # "started" means every worker runs
                if self.transports.enabled:
                    await tg.start(self.transports.serve, rep)
                log.info("gateway_listening", control=self.control_url, timeline=self.timeline_url)
                task_status.started()
        finally:
            bus.remove_listener(timeline.offer)
            timeline.close()
            self.replays.close()
            workers.close()
            for sock in (rep, pub, pub_json, pub_batch):
                sock.close()
            self.access.store.close()

    @staticmethod
    async def _run_thread(fn: Any, arg: Any, limiter: anyio.CapacityLimiter, running: Countdown) -> None:
        def run() -> None:
            running.arrive()
            fn(arg)

        await anyio.to_thread.run_sync(run, abandon_on_cancel=True, limiter=limiter)

    def _pipe_added(self, pipe: pynng.Pipe) -> None:
        with self._lock:
            self._clients += 1

    def _pipe_removed(self, pipe: pynng.Pipe) -> None:
        with self._lock:
            self._clients -= 1
            self._hello.pop(pipe.id, None)
        self.access.remove_pipe(pipe.id)

    # -- control ---------------------------------------------------------------------------

    def _crashed(self, op: str, exc: BaseException, fmt: Format) -> bytes:
        """Journal a request that crashed and answer it ``internal``."""
        log.error("request_failed", op=op, error=repr(exc), exc_info=exc)
        message = f"{op} failed: {type(exc).__name__}: {exc}"[:2000]
        with contextlib.suppress(Exception):
            self.runtime.bus.publish(Error(message=message, code="request_crashed"), source="gateway")
        return encode(p.ErrorReply(code="internal", message=message), fmt)

    def handle_frame(self, frame: bytes, pipe_id: int) -> bytes:
        """Decode one request frame, run it, encode the reply in the request's format."""
        admitted = self._admit(frame, pipe_id)
        if isinstance(admitted, bytes):
            return admitted
        request, fmt = admitted
        if isinstance(request, p.Replay):
            return self.replays.reply(request, fmt, pipe_id)
        return self._serve(request, fmt, pipe_id)

    def _admit(self, frame: bytes, pipe_id: int) -> tuple[p.Request, Format] | bytes:
        """The decoded request and its format, or the encoded refusal."""
        if (refused := self.access.screen(frame, pipe_id)) is not None:
            return refused  # a ws/tcp pipe without a valid token, or a request beyond its role
        fmt = detect_format(frame)
        limit = self.config.gateway.max_frame_bytes
        if len(frame) > limit:
            message = f"request of {len(frame)} bytes exceeds the limit of {limit}"
            return encode(p.ErrorReply(code="too_large", message=message), fmt)
        try:
            request, fmt = _request_codec.decode(frame)
        except DecodeError as exc:
            return encode(p.ErrorReply(code="bad_request", message=str(exc)), fmt)
        if not isinstance(request, p.Hello):
            with self._lock:
                greeted = pipe_id in self._hello
            if not greeted:
                return encode(p.ErrorReply(code="hello_required", message="send hello first"), fmt)
        return request, fmt

    def _serve(self, request: p.Request, fmt: Format, pipe_id: int) -> bytes:
        """Run an admitted request and encode its reply (fitted to the pipe: redaction, URLs)."""
        op = request.__struct_config__.tag
        settled_head(self.runtime.bus)  # the indexes hold every event a client can have seen (microseconds)
        try:
            reply = self.dispatch(request, pipe_id)
        except RequestError as exc:
            reply = p.ErrorReply(code=exc.code, message=str(exc))  # type: ignore[arg-type]
        except Exception as exc:
            return self._crashed(str(op), exc, fmt)
        try:
            return encode(self.access.amend(reply, pipe_id), fmt)
        except Exception as exc:  # a reply msgpack/JSON cannot hold (say, nested too deeply)
            return self._crashed(f"{op} (encoding its reply)", exc, fmt)

    def dispatch(self, request: p.Request, pipe_id: int) -> p.Reply:
        rt = self.runtime
        with self._lock:
            who = self._hello.get(pipe_id, "")
        match request:
            case p.Hello(protocol=version, client=client):
                if version != p.PROTOCOL_VERSION:
                    return p.ErrorReply(
                        code="version",
                        message=f"protocol {version} is not supported; this daemon speaks {p.PROTOCOL_VERSION}",
                    )
                with self._lock:
                    self._hello[pipe_id] = client or f"client-{pipe_id}"
                log.debug("client_hello", client=client)
                return p.HelloReply(
                    protocol=p.PROTOCOL_VERSION,
                    server=f"greenroom {__version__}",
                    pid=os.getpid(),
                    head=rt.bus.head,
                    timeline=self.timeline_url,
                    timeline_json=self.timeline_json_url,
                    max_frame_bytes=self.config.gateway.max_frame_bytes,
                    timeline_batch=self.timeline_batch_url,
                )
            case p.Submit(goal=goal, run_at=run_at):
                task_id, seq = rt.submit(goal, run_at, client=who)
                return p.Submitted(task_id=task_id, seq=seq)
            case p.Cancel(task_id=task_id):
                return p.Ok(seq=rt.cancel(task_id, client=who))
            case p.Confirm(confirmation_id=cid, approved=approved, remember=remember, scope=scope):
                return p.Ok(seq=rt.confirm(cid, approved, remember, client=who, scope=scope))
            case p.ListTasks(status=statuses, limit=limit):
                tasks = rt.tasks.all()
                if statuses:
                    tasks = [t for t in tasks if t.status in statuses]
                return p.Tasks(tasks=tasks[-limit:] if limit > 0 else [])
            case p.GetTask(task_id=task_id):
                return p.TaskReply(task=rt.task(task_id))
            case p.Replay():  # JSON and viewers (redacted); others get the journal's bytes (replay.py)
                return decoded_events(rt.journal, settled_head(rt.bus), request)
            case p.Status():
                with self._lock:
                    clients = self._clients
                return rt.status(clients)
            case p.Shutdown():
                if self.on_shutdown is None:
                    raise RequestError("conflict", "this daemon cannot be stopped by a request")
                log.info("shutdown_requested", client=who)
                counts = rt.tasks.counts()
                running = counts.get("running", 0) + counts.get("waiting", 0)
                self.on_shutdown(who)
                return p.Stopping(pid=os.getpid(), running=running)
            case p.ListTools():
                return p.ToolsReply(
                    tools=[
                        p.ToolInfo(
                            name=t.name,
                            description=t.description,
                            side_effects=t.side_effects,
                            network=t.network,
                            shell=t.shell,
                            dry_run=t.dry_run,
                            schema=t.schema(),
                        )
                        for t in rt.tools
                    ]
                )
            case p.ShowPolicy():
                return p.PolicyReply(
                    offline=rt.policy_engine.offline,
                    rules=[
                        p.RuleView(
                            layer=layer,
                            id=r.id,
                            tools=r.tools,
                            decision=r.decision,
                            reason=r.reason,
                            when=msgspec.to_builtins(r.when),
                        )
                        for layer, rules in rt.policy_engine.layers()
                        for r in rules
                    ],
                )
            case p.CheckPolicy(tool=tool, args=args):
                d = rt.test_policy(tool, args)
                return p.DecisionReply(
                    decision=d.decision, rule=d.rule, reason=d.reason, risk=d.risk, resolved=d.resolved
                )
            case p.SetOffline(on=on):
                return p.Ok(seq=rt.set_offline(on, client=who), detail="offline" if on else "online")
            case p.PullModel(model=model, offline=offline):
                head = rt.bus.head
                rt.pull_model(model, offline)
                return p.Ok(seq=head, detail=model)
            case p.UnloadModel(model=model):
                return p.Ok(detail="unloaded" if rt.unload_model(model) else "not loaded")
            case p.MemoryAdd(text=text, tags=tags, source=source):
                return p.MemoryAdded(item_id=rt.memory_add(text, tags, source))
            case p.MemoryIngest(paths=paths, tags=tags):
                head = rt.bus.head
                return p.IngestStarted(run_id=rt.memory_ingest(paths, tags), seq=head)
            case p.MemorySearch(query=query, k=k, filter=f, rerank=rerank):
                return p.MemoryHits(result=rt.memory_search(query, k, _filters(f), rerank))
            case p.MemoryForget(item_ids=ids, filter=f, query=query, limit=limit):
                return p.ForgetReply(report=rt.memory_forget(ids, _filters(f), query, limit))
            case p.MemoryStatsRequest():
                return p.MemoryStatsReply(stats=rt.memory_stats())
            case p.ScheduleAdd():
                return p.ScheduleReply(schedule=rt.schedule_ops.add(request, client=who))
            case p.ListSchedules(removed=removed):
                return p.Schedules(schedules=rt.schedule_ops.views(removed))
            case p.GetSchedule(schedule_id=sid):
                return p.ScheduleReply(schedule=rt.schedule_ops.show(sid))
            case p.PauseSchedule(schedule_id=sid):
                return p.Ok(seq=rt.schedule_ops.pause(sid, client=who), detail="paused")
            case p.ResumeSchedule(schedule_id=sid):
                return p.Ok(seq=rt.schedule_ops.resume(sid), detail="resumed")
            case p.RemoveSchedule(schedule_id=sid):
                return p.Ok(seq=rt.schedule_ops.remove(sid), detail="removed")
            case p.RunSchedule(schedule_id=sid):
                task_id, seq = rt.schedule_ops.run_now(sid)
                return p.Submitted(task_id=task_id, seq=seq)
            case p.MemoryWatch(paths=paths, tags=tags):
                head = rt.bus.head
                return p.WatchesReply(watches=rt.memory_watch(paths, tags), seq=head)
            case p.MemoryWatches():
                return p.WatchesReply(watches=rt.memory_watches())
            case p.MemoryUnwatch(path=path):
                return p.Ok(seq=rt.memory_unwatch(path), detail="unwatched")
            case p.TokenCreate() | p.TokenList() | p.TokenRevoke():
                return self.access.token_op(request)
            case p.ListModels():
                return models_view(rt)
            case p.Preview(confirmation_id=cid):
                return preview(rt, cid)
            case p.McpAdd():
                return p.McpServerReply(server=rt.mcp_add(request))
            case p.McpList():
                return p.McpServersReply(servers=rt.mcp_servers())
            case p.McpShow(name=name):
                return p.McpServerReply(server=rt.mcp_server(name))
            case p.McpRemove(name=name):
                rt.mcp_remove(name)
                return p.Ok(detail=name)
            case p.McpEnable(name=name, on=on):
                return p.McpServerReply(server=rt.mcp_enable(name, on))
            case p.McpRestart(name=name):
                return p.McpServerReply(server=rt.mcp_restart(name))
            case _ if isinstance(request, lifecycle.REQUESTS):
                return lifecycle.handle(rt, request, who)
            case _ if isinstance(request, CHAT_REQUESTS):
                return rt.chat_ops.handle(request, client=who)  # runtime/chat_ops.py
            case _:
                raise RequestError("bad_request", f"unsupported request {request!r}")
