"""nng helpers the pynng API does not cover, and a lean request loop for Rep0 contexts."""

from __future__ import annotations

import pynng
from pynng._nng import ffi, lib
from pynng.exceptions import check_err


def listen_private(sock: pynng.Socket, url: str, mode: int = 0o600) -> None:
    """Listen on ``url``; for ``ipc://`` make the socket file ``mode`` (default 0600).

    nng's ``ipc:permissions`` must be set before the listener starts, which
    ``pynng.Socket.listen`` does not allow, hence the create / set / start here.
    """
    if not url.startswith("ipc://"):
        sock.listen(url)
        return
    listener = ffi.new("nng_listener *")
    check_err(lib.nng_listener_create(listener, sock.socket, url.encode()))
    check_err(lib.nng_listener_set_int(listener[0], b"ipc:permissions", mode))
    check_err(lib.nng_listener_start(listener[0], 0))


def pipe_option(pipe: pynng.Pipe, name: str) -> str | None:
    """A string option of ``pipe`` (``ws:request-uri``, ``ws:request-header:Origin``), or None if absent."""
    out = ffi.new("char **")
    if lib.nng_pipe_get_string(pipe.pipe, name.encode(), out) != 0:
        return None
    try:
        return str(ffi.string(out[0]).decode("utf-8", errors="replace"))
    finally:
        lib.nng_strfree(out[0])


def bound_port(listener: pynng.Listener) -> int:
    """The TCP port a ``tcp://``/``ws://`` listener bound (the real one when it asked for port 0)."""
    port = ffi.new("int *")
    check_err(lib.nng_listener_get_int(listener.listener, b"tcp-bound-port", port))
    return int(port[0])


class ContextIO:
    """Receive and reply on one Rep0 context through one reused aio.

    ``pynng.Context.recv_msg``/``send`` allocate an aio, a Python ``Message`` and a
    pipe lookup per call; on the gateway's request path that is a third of its
    Python work. This does the same nng calls with one aio for the context's life.
    Use it from one thread at a time; :meth:`close` after the context is closed.

    Args:
        ctx: a context of a Rep0 socket.
    """

    def __init__(self, ctx: pynng.Context) -> None:
        self.ctx = ctx
        self._handle = ctx.context
        aio = ffi.new("nng_aio **")
        check_err(lib.nng_aio_alloc(aio, ffi.NULL, ffi.NULL))
        self._aio = aio[0]
        self._msg = ffi.new("nng_msg **")

    def recv(self) -> tuple[bytes, int]:
        """The next request's bytes and the id of the pipe it came on.

        Raises:
            pynng.Closed: the context (or its socket) is closed.
            pynng.NNGException: nng reported another failure.
        """
        aio = self._aio
        lib.nng_ctx_recv(self._handle, aio)
        lib.nng_aio_wait(aio)
        check_err(lib.nng_aio_result(aio))
        msg = lib.nng_aio_get_msg(aio)
        try:
            body = bytes(ffi.buffer(lib.nng_msg_body(msg), lib.nng_msg_len(msg)))
            pipe_id = int(lib.nng_pipe_id(lib.nng_msg_get_pipe(msg)))
        finally:
            lib.nng_msg_free(msg)
        return body, pipe_id

    def send(self, data: bytes) -> None:
        """Reply to the request last received.

        Raises:
            pynng.Closed: the context (or its socket) is closed.
            pynng.NNGException: nng reported another failure.
        """
        check_err(lib.nng_msg_alloc(self._msg, 0))
        msg = self._msg[0]
        err = lib.nng_msg_append(msg, data, len(data))
        if err:
            lib.nng_msg_free(msg)
            check_err(err)
        aio = self._aio
        lib.nng_aio_set_msg(aio, msg)
        lib.nng_ctx_send(self._handle, aio)
        lib.nng_aio_wait(aio)
        err = lib.nng_aio_result(aio)
        if err:
            lib.nng_msg_free(msg)  # not sent: still ours
            check_err(err)

    def close(self) -> None:
        """Free the aio (call once no operation is in progress: after the context closed)."""
        if self._aio is not None:
            lib.nng_aio_free(self._aio)
            self._aio = None
