"""The control socket's worker threads: one Rep0 context each, replays handed to their own workers.

Each worker blocks on its own nng context (:class:`~greenroom.runtime.nng.ContextIO`),
so slow requests do not hold up others and no blocking work touches the event
loop. A ``replay`` goes to :class:`~greenroom.runtime.replay.Replays` together with
the context it came on (the replay worker answers on it and closes it); the
control worker goes on with a fresh context.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pynng
import structlog

from greenroom.bus import protocol as p
from greenroom.bus.codec import Format, detect_format
from greenroom.runtime.nng import ContextIO
from greenroom.runtime.replay import Replays

log = structlog.get_logger(__name__)

Admit = Callable[[bytes, int], "tuple[p.Request, Format] | bytes"]
Serve = Callable[[p.Request, Format, int], bytes]
Crashed = Callable[[str, BaseException, Format], bytes]


class ControlWorkers:
    """Contexts of one Rep0 socket and the loop each worker runs on one.

    Args:
        rep: the control socket.
        admit: decodes and screens a frame: the request and its format, or the encoded refusal.
        serve: runs an admitted request and encodes its reply.
        crashed: the reply for a request whose handling raised.
        replays: where replays go (with their context).
        accepting: set once requests may be served (the actors run); until then they wait in nng.
    """

    def __init__(
        self,
        rep: pynng.Rep0,
        admit: Admit,
        serve: Serve,
        crashed: Crashed,
        replays: Replays,
        accepting: threading.Event,
    ) -> None:
        self._rep = rep
        self._accepting = accepting
        self._admit = admit
        self._serve = serve
        self._crashed = crashed
        self._replays = replays
        replays.on_done = self.close_context
        self._contexts: set[ContextIO] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def open_context(self) -> ContextIO:
        io = ContextIO(self._rep.new_context())
        with self._lock:
            self._contexts.add(io)
        return io

    def close_context(self, io: ContextIO) -> None:
        with self._lock:
            self._contexts.discard(io)
        with contextlib.suppress(pynng.NNGException):
            io.ctx.close()
        io.close()

    def close(self) -> None:
        """Stop every loop: close all contexts (before the socket: closing it first makes theirs fail)."""
        self._closed.set()
        self._accepting.set()  # a loop still waiting to start sees closed and returns
        with self._lock:
            contexts, self._contexts = self._contexts, set()
        for io in contexts:
            with contextlib.suppress(pynng.NNGException):
                io.ctx.close()

    def loop(self, io: ContextIO) -> None:
        """Serve requests on ``io`` until closed; nothing a request does ends the loop."""
        self._accepting.wait()
        try:
            while not self._closed.is_set():
                try:
                    frame, pipe_id = io.recv()
                except pynng.Closed:
                    return
                except pynng.NNGException as exc:
                    log.info("request_not_received", error=str(exc))
                    continue
                try:
                    admitted = self._admit(frame, pipe_id)
                    if isinstance(admitted, bytes):
                        reply = admitted
                    elif isinstance(admitted[0], p.Replay) and self._replays.take(io, *admitted, pipe_id):  # type: ignore[arg-type]
                        io = self.open_context()
                        continue
                    else:
                        reply = self._serve(admitted[0], admitted[1], pipe_id)
                except Exception as exc:  # every request is answered; this is the last net
                    reply = self._crashed("frame", exc, detect_format(frame))
                try:
                    io.send(reply)
                except pynng.Closed:
                    return
                except pynng.NNGException as exc:
                    log.info("reply_not_sent", error=str(exc))
        finally:
            with self._lock:
                self._contexts.discard(io)
            io.close()


class Countdown:
    """Set once ``n`` threads have arrived (the gateway reports started when all its workers run)."""

    def __init__(self, n: int) -> None:
        self._left = n
        self._lock = threading.Lock()
        self._done = threading.Event()

    def arrive(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left <= 0:
                self._done.set()

    def wait(self) -> None:
        self._done.wait()
