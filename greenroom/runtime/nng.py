"""nng helpers the pynng API does not cover."""

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
