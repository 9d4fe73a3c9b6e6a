"""Remote daemons: the control URL of a ``ws://``/``tcp://`` address, and timeline sockets.

An ipc or ws timeline is a Pub0 socket (the ws URL the hello reply gives holds a
single-use ticket); the tcp timeline is a Pair1 socket where the client's first
message is a hello with its token (see docs/protocol.md, "Remote clients").
"""

from __future__ import annotations

import pynng

from greenroom.bus import protocol as p
from greenroom.bus.batch_frames import BATCH_TOPIC
from greenroom.bus.codec import encode


def control_url(url: str) -> str:
    """The control socket's URL for a daemon address: ``ws://host:port`` gets ``/control``."""
    if url.startswith(("ws://", "wss://")) and url.count("/") == 2:
        return url + "/control"
    return url


def open_timeline(
    hello: p.HelloReply, token: str, name: str, timeout_ms: int, batched: bool = False
) -> tuple[pynng.Socket, bool]:
    """A socket receiving the timeline frames ``hello`` points at, and whether they are batch frames.

    With ``batched`` and a batch timeline in ``hello`` (ipc only), that one, subscribed to
    ``batch.v1`` frames; else the one-event-a-frame timeline, subscribed to everything.
    ipc and ws timelines are Pub0 (the ws URL holds a single-use ticket); the tcp
    timeline is a Pair1 socket that says hello with the token first.
    """
    from greenroom.clients.client import decode_reply

    if batched and hello.timeline_batch.startswith("ipc://"):
        return _sub(hello.timeline_batch, BATCH_TOPIC, timeout_ms), True
    if hello.timeline.startswith(("tcp://", "tls+tcp://")):
        pair = pynng.Pair1(recv_timeout=timeout_ms, send_timeout=timeout_ms, recv_buffer_size=8192)
        try:
            pair.dial(hello.timeline, block=True)
            pair.send(encode(p.Hello(protocol=p.PROTOCOL_VERSION, client=name, token=token)))
            decode_reply(pair.recv(), p.HelloReply)
        except BaseException:
            pair.close()
            raise
        return pair, False
    return _sub(hello.timeline, b"", timeout_ms), False


def _sub(url: str, topic: bytes, timeout_ms: int) -> pynng.Sub0:
    sub = pynng.Sub0(recv_buffer_size=8192, recv_timeout=timeout_ms)
    sub.subscribe(topic)
    try:
        sub.dial(url, block=True)
    except BaseException:
        sub.close()
        raise
    return sub
