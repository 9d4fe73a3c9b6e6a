"""The optional ``ws://`` and ``tcp://`` transports beside ``ipc://``, and the web page.

- Control: the gateway's Rep0 socket also listens on ``ws://host:port/control``
  and ``tcp://host:tcp_port`` (``tls+tcp://`` with ``tls_cert_key``). Every pipe
  there is screened by :class:`~greenroom.runtime.access.Access`.
- Timeline over ws: four Pub0 sockets on the same port, ``/timeline`` and
  ``/timeline.json`` (operators and admins), ``/timeline-viewer`` and
  ``/timeline-viewer.json`` (viewers: sensitive arguments redacted). nng calls
  :meth:`_admit_ws` before it adds a pipe; a pipe without a valid single-use
  ticket in its URL, a foreign ``Origin`` or an unknown ``Host`` is closed there,
  so it never receives a frame.
- Timeline over tcp: a SUB pipe cannot say anything, so this one is a Pair1
  socket in polyamorous mode (it can address one pipe): a pipe receives nothing
  until its first message, a ``hello`` with a token, is accepted; then it gets
  the frames for its role, in the format of its hello.

These sockets are fed by their own bus subscription, so the ipc hot path is
untouched and a slow remote client cannot slow anything else.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import anyio
import pynng
import structlog

from greenroom import __version__
from greenroom.bus import protocol as p
from greenroom.bus.codec import Codec, Format, encode, encode_envelope, envelope_to_json
from greenroom.bus.errors import DecodeError
from greenroom.bus.events import event_type
from greenroom.runtime.access import Access
from greenroom.runtime.config import Config
from greenroom.runtime.errors import ListenError
from greenroom.runtime.nng import bound_port, pipe_option
from greenroom.runtime.origin import host_allowed, normalise_origin, origin_allowed
from greenroom.runtime.redact import redact_envelope

if TYPE_CHECKING:
    from greenroom.runtime.webserver import WebServer

log = structlog.get_logger(__name__)

WS_PATHS: dict[tuple[str, Format], str] = {
    ("full", "msgpack"): "/timeline",
    ("full", "json"): "/timeline.json",
    ("viewer", "msgpack"): "/timeline-viewer",
    ("viewer", "json"): "/timeline-viewer.json",
}
HELLO_WAIT_S = 10.0
"""A tcp timeline pipe that has not said hello by then is closed."""
REFUSAL_GRACE_S = 2.0
MAX_HELLO_BYTES = 64 << 10
_hello_codec: Codec[p.Request] = Codec(p.Request)


def _address(pipe: pynng.Pipe) -> str:
    try:
        return str(pipe.remote_address).rsplit(":", 1)[0]
    except (pynng.NNGException, ValueError):
        return "?"


class Transports:
    """The remote listeners, their timeline sockets and the web server.

    Args:
        access: sessions and rights.
        runtime: the bus to publish from (and its head for hello replies).
        config: where to listen.
    """

    def __init__(self, access: Access, runtime: Any, config: Config) -> None:
        self.access = access
        self.runtime = runtime
        gw = config.gateway
        self.gw = gw
        self.ws_on = gw.ws or gw.web
        self.enabled = self.ws_on or gw.tcp
        self.ws_port = 0
        self._origins = {normalise_origin(o) for o in gw.allowed_origins} - {""}
        self._ws_socks: dict[tuple[str, Format], pynng.Pub0] = {}
        self._ws_counts: dict[tuple[str, Format], int] = dict.fromkeys(WS_PATHS, 0)
        self._tcp_pending: dict[int, tuple[pynng.Pipe, float]] = {}
        self._tcp_admitted: dict[int, tuple[pynng.Pipe, str, Format]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.web: WebServer | None = None

    # -- pipe admission ------------------------------------------------------------------

    def _browser_ok(self, pipe: pynng.Pipe) -> str | None:
        """Why a ws pipe's headers are refused, or None."""
        host = pipe_option(pipe, "ws:request-header:Host") or ""
        if not host_allowed(host, self.ws_port, self.gw.ws_host):
            return f"Host {host[:100]!r} is not this listener (DNS rebinding?)"
        origin = pipe_option(pipe, "ws:request-header:Origin")
        if not origin_allowed(origin, self._origins):
            return f"Origin {str(origin)[:100]!r} is not allowed"
        return None

    def control_pipe(self, pipe: pynng.Pipe) -> None:
        """Pre-connect hook of the control socket: register ws/tcp pipes (ipc ones stay trusted)."""
        try:
            scheme = str(pipe.url).split("://", 1)[0]
            if scheme == "ipc":
                return
            address = _address(pipe)
            if scheme == "ws":
                why = self._browser_ok(pipe)
                if why is not None:
                    pipe.close()
                    self.access.refuse("ws", address, why)
                    return
                self.access.add_pipe(pipe, "ws", address, pipe_option(pipe, "ws:request-header:Host") or "")
            else:
                self.access.add_pipe(pipe, "tcp", address)
        except Exception:  # nng calls this; anything unexpected must not admit the pipe
            log.exception("pipe_admission_failed")
            with contextlib.suppress(pynng.NNGException):
                pipe.close()

    def _admit_ws(self, pipe: pynng.Pipe, key: tuple[str, Format]) -> None:
        try:
            address = _address(pipe)
            why = self._browser_ok(pipe)
            if why is None:
                ticket = self.access.admit_ticket(pipe_option(pipe, "ws:request-uri") or "", key[0])
                if isinstance(ticket, str):
                    why = ticket
                else:
                    self.access.bind_token(pipe, "ws", address, ticket.role, ticket.token_id)
                    return
            pipe.close()
            self.access.refuse("ws", address, why)
        except Exception:
            log.exception("pipe_admission_failed")
            with contextlib.suppress(pynng.NNGException):
                pipe.close()

    def _count(self, key: tuple[str, Format], delta: int) -> None:
        with self._lock:
            self._ws_counts[key] += delta

    def _ws_pipe_removed(self, pipe: pynng.Pipe, key: tuple[str, Format]) -> None:
        self._count(key, -1)
        self.access.remove_pipe(pipe.id)

    # -- lifecycle -----------------------------------------------------------------------

    async def serve(self, rep: pynng.Rep0, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen (control on ``rep``, the timelines, the page); report started; run until cancelled.

        Raises:
            ListenError: a configured address cannot be listened on.
        """
        socks: list[pynng.Socket] = []
        sub = self.runtime.bus.subscribe("remote-timeline", maxsize=65536)
        try:
            try:
                if self.ws_on:
                    socks += self._listen_ws(rep)
                if self.gw.tcp:
                    socks.append(self._listen_tcp(rep))
                if self.gw.web:
                    from greenroom.runtime.webserver import WebServer  # only when the page is served

                    ws = self.access.endpoints["ws"]
                    self.web = WebServer(self.gw.ws_host, self.gw.web_port, {"ws": ws}).start()
                    self.access.endpoints["web"] = self.web.origin + "/"
                    self._origins |= {self.web.origin, f"http://localhost:{self.web.port}"}
            except (pynng.NNGException, OSError) as exc:
                raise ListenError(f"cannot listen for remote clients ([gateway] ws/tcp/web): {exc}") from None
            log.info("remote_transports_listening", **self.access.endpoints)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._thread, self._publish_loop, sub)
                if self.gw.tcp:
                    tg.start_soon(self._thread, self._tcp_hello_loop, socks[-1])
                task_status.started()
        finally:
            self._closed.set()
            sub.close()
            if self.web is not None:
                self.web.close()
            for sock in socks:
                sock.close()

    @staticmethod
    async def _thread(fn: Any, arg: Any) -> None:
        await anyio.to_thread.run_sync(fn, arg, abandon_on_cancel=True)

    def _listen_ws(self, rep: pynng.Rep0) -> list[pynng.Socket]:
        host = self.gw.ws_host
        url_host = f"[{host}]" if ":" in host else host
        listener = rep.listen(f"ws://{url_host}:{self.gw.ws_port}/control")
        self.ws_port = bound_port(listener)
        base = f"ws://{url_host}:{self.ws_port}"
        self.access.endpoints["ws"] = base
        socks: list[pynng.Socket] = []
        for key, path in WS_PATHS.items():
            sock = pynng.Pub0(send_buffer_size=self.gw.timeline_buffer, recv_max_size=1024)
            sock.add_pre_pipe_connect_cb(lambda pipe, key=key: self._admit_ws(pipe, key))
            sock.add_post_pipe_connect_cb(lambda _pipe, key=key: self._count(key, +1))
            sock.add_post_pipe_remove_cb(lambda pipe, key=key: self._ws_pipe_removed(pipe, key))
            sock.listen(base + path)
            self._ws_socks[key] = sock
            socks.append(sock)
        return socks

    def _listen_tcp(self, rep: pynng.Rep0) -> pynng.Socket:
        gw = self.gw
        scheme = "tls+tcp" if gw.tls_cert_key else "tcp"
        host = f"[{gw.tcp_host}]" if ":" in gw.tcp_host else gw.tcp_host
        pair = pynng.Pair1(polyamorous=True, recv_max_size=MAX_HELLO_BYTES, recv_timeout=500)
        if gw.tls_cert_key:
            tls = pynng.TLSConfig(pynng.TLSConfig.MODE_SERVER, cert_key_file=os.path.expanduser(gw.tls_cert_key))
            rep.tls_config = tls
            pair.tls_config = tls
        port = bound_port(rep.listen(f"{scheme}://{host}:{gw.tcp_port}"))
        pair.add_pre_pipe_connect_cb(self._tcp_pipe_added)
        pair.add_post_pipe_remove_cb(self._tcp_pipe_removed)
        timeline = pair.listen(f"{scheme}://{host}:{port + 1 if gw.tcp_port else 0}")
        self.access.endpoints["tcp"] = f"{scheme}://{host}:{port}"
        self.access.endpoints["tcp_timeline"] = f"{scheme}://{host}:{bound_port(timeline)}"
        return pair

    # -- tcp timeline ----------------------------------------------------------------------

    def _tcp_pipe_added(self, pipe: pynng.Pipe) -> None:
        with self._lock:
            self._tcp_pending[pipe.id] = (pipe, time.monotonic())

    def _tcp_pipe_removed(self, pipe: pynng.Pipe) -> None:
        with self._lock:
            self._tcp_pending.pop(pipe.id, None)
            self._tcp_admitted.pop(pipe.id, None)
        self.access.remove_pipe(pipe.id)

    def _tcp_hello_loop(self, pair: pynng.Pair1) -> None:
        while not self._closed.is_set():
            self._sweep_pending()
            try:
                msg = pair.recv_msg()
            except pynng.Timeout:
                continue
            except pynng.Closed:
                return
            except pynng.NNGException as exc:
                log.info("tcp_timeline_recv_failed", error=str(exc))
                continue
            try:
                self._tcp_hello(msg.pipe, msg.bytes)
            except Exception:
                log.exception("tcp_timeline_hello_failed")
                with contextlib.suppress(pynng.NNGException):
                    msg.pipe.close()

    def _sweep_pending(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [pipe for pipe, since in self._tcp_pending.values() if now - since > HELLO_WAIT_S]
        for pipe in late:
            with contextlib.suppress(pynng.NNGException):
                pipe.close()

    def _tcp_hello(self, pipe: pynng.Pipe, frame: bytes) -> None:
        with self._lock:
            if pipe.id not in self._tcp_pending:
                return  # admitted already (or gone): a timeline pipe has nothing more to say
            # Answered: closed by the sweeper after a grace period that lets a refusal reach the client.
            self._tcp_pending[pipe.id] = (pipe, time.monotonic() - HELLO_WAIT_S + REFUSAL_GRACE_S)
        address = _address(pipe)
        try:
            hello, fmt = _hello_codec.decode(frame)
        except DecodeError as exc:
            hello, fmt = None, ("json" if frame[:1] == b"{" else "msgpack")
            result: p.TokenInfo | p.ErrorReply = self.access.refuse("tcp", address, f"bad hello: {exc}")
        if hello is not None:
            if not isinstance(hello, p.Hello):
                result = self.access.refuse("tcp", address, "the first message must be a hello with a token")
            else:
                result = self.access.authenticate(hello.token, "tcp", address, hello.client)
        if isinstance(result, p.ErrorReply):
            pipe.send(encode(result, fmt))  # the pipe is closed by the sweeper a moment later
            return
        url = self.access.endpoints["tcp_timeline"]
        reply = p.HelloReply(
            protocol=p.PROTOCOL_VERSION, server=f"greenroom {__version__}", pid=os.getpid(),
            head=self.runtime.bus.head, timeline=url, timeline_json=url, role=result.role,
        )  # fmt: skip
        pipe.send(encode(reply, fmt))
        with self._lock:
            self._tcp_pending.pop(pipe.id, None)
            self._tcp_admitted[pipe.id] = (pipe, "viewer" if result.role == "viewer" else "full", fmt)
        self.access.bind_token(pipe, "tcp", address, result.role, result.token_id)

    # -- publishing ----------------------------------------------------------------------

    def _publish_loop(self, sub: Any) -> None:
        while not self._closed.is_set():
            first = sub.get(timeout=0.5)
            if first is None:
                continue
            for rec in [first, *sub.drain(1024)]:
                with self._lock:
                    ws = [(k, self._ws_socks[k]) for k, n in self._ws_counts.items() if n > 0]
                    tcp = list(self._tcp_admitted.values())
                if not ws and not tcp:
                    continue
                frames = _Frames(rec, self.access.sensitive)
                try:
                    for key, sock in ws:
                        sock.send(frames.get(key))
                    for pipe, kind, fmt in tcp:
                        with contextlib.suppress(pynng.NNGException):
                            pipe.send(frames.get((kind, fmt)))
                except pynng.Closed:
                    return


class _Frames:
    """One event's timeline frames, each encoded (and redacted) only if someone gets it."""

    def __init__(self, rec: Any, sensitive: Any) -> None:
        self.rec = rec
        self.sensitive = sensitive
        self.topic = event_type(rec.envelope.event).encode() + b" "
        self._done: dict[tuple[str, Format], bytes] = {}

    def get(self, key: tuple[str, Format]) -> bytes:
        if key not in self._done:
            env = self.rec.envelope
            if key[0] != "full":
                env = redact_envelope(env, self.sensitive)
            if key == ("full", "msgpack"):
                body = self.rec.raw  # the journal's own bytes
            else:
                body = encode_envelope(env) if key[1] == "msgpack" else envelope_to_json(env)
            self._done[key] = self.topic + body
        return self._done[key]
