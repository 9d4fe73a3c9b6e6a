"""Remote daemons: the control URL of a ``ws://``/``tcp://`` address, and timeline sockets.

An ipc or ws timeline is a Pub0 socket (the ws URL the hello reply gives holds a
single-use ticket); the tcp timeline is a Pair1 socket where the client's first
message is a hello with its token (see docs/protocol.md, "Remote clients").
"""

from __future__ import annotations

import pynng

from greenroom.bus import protocol as p
from greenroom.bus.codec import encode


def control_url(url: str) -> str:
    """The control socket's URL for a daemon address: ``ws://host:port`` gets ``/control``."""
    if url.startswith(("ws://", "wss://")) and url.count("/") == 2:
        return url + "/control"
    return url


def open_timeline(hello: p.HelloReply, token: str, name: str, timeout_ms: int) -> pynng.Socket:
    """A socket receiving the timeline frames ``hello`` points at (subscribed to everything).

    ipc and ws timelines are Pub0 (the ws URL holds a single-use ticket); the tcp
    timeline is a Pair1 socket that says hello with the token first.
    """
    from greenroom.clients.client import decode_reply

    if hello.timeline.startswith(("tcp://", "tls+tcp://")):
        pair = pynng.Pair1(recv_timeout=timeout_ms, send_timeout=timeout_ms, recv_buffer_size=8192)
        try:
            pair.dial(hello.timeline, block=True)
            pair.send(encode(p.Hello(protocol=p.PROTOCOL_VERSION, client=name, token=token)))
            decode_reply(pair.recv(), p.HelloReply)
        except BaseException:
            pair.close()
            raise
        return pair
    sub = pynng.Sub0(recv_buffer_size=8192, recv_timeout=timeout_ms)
    sub.subscribe(b"")
    try:
        sub.dial(hello.timeline, block=True)
    except BaseException:
        sub.close()
        raise
    return sub
