"""The client library: talk to a running daemon over nng (sync and async).

Both clients say hello first, then offer one method per request, each defined
once for both in ``greenroom.clients.calls`` (blocking here, coroutines in
``AsyncClient``). ``follow``
yields the timeline in order and without gaps: it replays what happened since
``from_seq`` from the journal, then reads the live timeline, and when it sees
a gap in ``seq`` (nng dropped frames because this client was slow) it replays
the missing range before going on. Over ipc it reads the batch timeline (several
events a frame) when the daemon has one: one nng message per burst, not per event.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import TypeVar

import pynng

from greenroom._userpath import user_path
from greenroom.bus import protocol as p
from greenroom.bus.codec import Codec, encode
from greenroom.bus.envelope import Envelope
from greenroom.clients.calls import Calls
from greenroom.clients.chat_client import ChatCalls
from greenroom.clients.cursor import QUIET_MS, Cursor
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


class Client(Calls, ChatCalls):
    """A synchronous connection to the daemon: one blocking method per request (``Calls``,
    ``ChatCalls``), and ``follow``.

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
        self._contexts: list[pynng.Context] = []
        self.hello: p.HelloReply | None = None
        self.healed = 0
        """Events ``follow`` recovered by replay after the live timeline dropped them (a gap
        seen at a later frame, or a tail found missing when the timeline went quiet)."""

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

    def __del__(self) -> None:
        # A client nobody closed: its pooled contexts must close before its socket does (pynng
        # raises from a context's own finaliser once the socket is gone).
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        with self._lock:
            contexts, self._contexts = self._contexts, []
        for ctx in contexts:
            with contextlib.suppress(pynng.NNGException):
                ctx.close()
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
        # One nng context per request in flight: the client may be used from several threads at
        # once (say, one following the timeline while another answers a confirmation). Contexts
        # are reused (opening one per request cost ~30 µs of a ~100 µs round trip).
        data = _encode_request(request, self.hello)
        with self._lock:
            ctx = self._contexts.pop() if self._contexts else None
        if ctx is None:
            ctx = self._req.new_context()
        try:
            ctx.send(data)
            frame = ctx.recv()
        except pynng.Timeout:
            ctx.close()  # a late reply must not reach the next request on this context
            raise DaemonNotRunningError(f"the daemon did not answer within {self._timeout_ms / 1000:g}s") from None
        except pynng.NNGException as exc:
            ctx.close()
            raise _not_running(self.runtime_dir, exc) from None
        with self._lock:
            self._contexts.append(ctx)
        return decode_reply(frame, expected)

    def hello_request(self) -> p.Hello:
        return p.Hello(protocol=p.PROTOCOL_VERSION, client=self.name, token=self.token)

    # -- timeline --------------------------------------------------------------------------

    def _replay_into(self, cursor: Cursor, upto: int | None, *, healing: bool = False) -> Iterator[Envelope]:
        """Replay ``cursor.next_seq .. upto`` (or to the head) and advance the cursor;
        ``healing``: these events were due on the live timeline (count them in ``healed``)."""
        while True:
            page = self.replay(cursor.next_seq, upto, cursor.task_id)
            if healing:
                self.healed += max(0, page.next_seq - cursor.next_seq)
            yield from page.events
            if cursor.advance(page, upto):
                return

    def follow(
        self,
        from_seq: int | None = None,
        task_id: str | None = None,
        idle: float | None = None,
        *,
        batched: bool = True,
    ) -> Generator[Envelope | None, None, None]:
        """Yield committed events in seq order, forever (close the generator to stop).

        Args:
            from_seq: first seq wanted; None for "from now on".
            task_id: only this task's events.
            idle: if set, yield ``None`` after this many seconds without events
                (a chance for the caller to do other work).
            batched: read the batch timeline when the daemon offers one (ipc); False: one
                event a frame, as every client before it did.
        """
        assert self.hello is not None or self.connect()
        assert self.hello is not None
        if self.url:  # a ws timeline ticket is single-use: a fresh hello brings a fresh one
            self.hello = self.request(self.hello_request(), p.HelloReply)
        sub, in_batches = open_timeline(
            self.hello, self.token, self.name, int(idle * 1000) if idle else QUIET_MS, batched
        )
        try:
            head = self.status().head
            cursor = Cursor(head + 1 if from_seq is None else max(1, from_seq), task_id)
            yield from self._replay_into(cursor, None)
            while True:
                try:
                    frame = sub.recv()
                except pynng.Timeout:
                    # Quiet: make sure nothing at the tail was dropped, then report idleness.
                    yield from self._replay_into(cursor, None, healing=True)
                    if idle is not None:
                        yield None
                    continue
                for env in Cursor.envelopes(frame, in_batches):
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


class AsyncClient(Calls, ChatCalls):
    """An asyncio/trio connection to the daemon: one coroutine method per request (``Calls``,
    ``ChatCalls``), and ``follow``; requests may run concurrently (an nng context each).

    Args: as for ``Client``.
    """

    is_async = True

    def __init__(
        self,
        runtime_dir: Path,
        *,
        name: str = "greenroom-python-async",
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
        self.hello: p.HelloReply | None = None
        self.healed = 0
        """As ``Client.healed``."""

    async def connect(self) -> AsyncClient:
        """As ``Client.connect``."""
        self._req = _dial_control(self.runtime_dir, self._timeout_ms, self.url)
        self.hello = await self.request(self.hello_request(), p.HelloReply)
        return self

    def hello_request(self) -> p.Hello:
        return p.Hello(protocol=p.PROTOCOL_VERSION, client=self.name, token=self.token)

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

    async def follow(
        self, from_seq: int | None = None, task_id: str | None = None, *, batched: bool = True
    ) -> AsyncIterator[Envelope]:
        """As ``Client.follow`` (without idle ticks)."""
        assert self.hello is not None, "connect() first"
        if self.url:  # a ws timeline ticket is single-use: a fresh hello brings a fresh one
            self.hello = await self.request(self.hello_request(), p.HelloReply)
        sub, in_batches = open_timeline(self.hello, self.token, self.name, QUIET_MS, batched)
        try:
            head = (await self.status()).head
            cursor = Cursor(head + 1 if from_seq is None else max(1, from_seq), task_id)

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
                try:
                    frame = await sub.arecv()
                except pynng.Timeout:  # quiet: the tail of a burst may have been dropped
                    quiet_from = cursor.next_seq
                    tail = await catch_up(None)
                    self.healed += cursor.next_seq - quiet_from
                    for missed in tail:
                        yield missed
                    continue
                for env in Cursor.envelopes(frame, in_batches):
                    if env.seq < cursor.next_seq:
                        continue
                    if env.seq > cursor.next_seq:
                        self.healed += env.seq - cursor.next_seq
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
        return user_path(env)
    from greenroom.runtime.paths import platform_runtime_dir

    return platform_runtime_dir()


__all__ = ["AsyncClient", "Client", "default_runtime_dir"]
