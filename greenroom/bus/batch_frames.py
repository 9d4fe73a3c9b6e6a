"""Batch frames: several committed events in one timeline message.

The batch timeline (``timeline-batch.ipc``) sends each committed batch as few
nng messages as fit: ``batch.v1 `` (the topic, then one space) and a msgpack
array of envelopes, each exactly the bytes the journal holds. nng's cost is per
message (a Python call to send, a wake-up and a Python call to receive), so a
burst of token chunks costs a follower one receive per batch instead of one per
token, and a single event still goes out alone, at once.

The daemon builds a frame without decoding anything: a msgpack array header
followed by the journal's bodies, each already one msgpack map, is a valid
msgpack array. A client decodes the whole array in one call.

The topic carries the layout's version: another layout would get another topic,
which a subscription to ``batch.v1 `` filters out, so a client never reads a
frame it does not understand.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

import msgspec

from greenroom.bus.envelope import Envelope
from greenroom.bus.errors import DecodeError

BATCH_TOPIC = b"batch.v1 "
"""The topic of a version-1 batch frame (subscribe to exactly this)."""
BATCH_MAX_EVENTS = 1024
"""Events in one frame at most."""
BATCH_MAX_BYTES = 256 * 1024
"""Bodies in one frame at most (a larger event goes alone): well under nng's 1 MiB receive limit."""

_decoder = msgspec.msgpack.Decoder(list[Envelope])


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 0x10000:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def encode_batch(bodies: Sequence[bytes]) -> bytes:
    """One batch frame holding ``bodies`` (msgpack envelopes, as journaled), in their order."""
    return BATCH_TOPIC + _array_header(len(bodies)) + b"".join(bodies)


def batch_frames(
    bodies: Sequence[bytes], max_events: int = BATCH_MAX_EVENTS, max_bytes: int = BATCH_MAX_BYTES
) -> Iterator[bytes]:
    """``bodies`` cut into frames of at most ``max_events`` events and ``max_bytes`` of bodies.

    An event larger than ``max_bytes`` goes in a frame of its own; order is kept.
    """
    start, size = 0, 0
    for i, body in enumerate(bodies):
        if i > start and (i - start >= max_events or size + len(body) > max_bytes):
            yield encode_batch(bodies[start:i])
            start, size = i, 0
        size += len(body)
    if start < len(bodies):
        yield encode_batch(bodies[start:])


def decode_batch(frame: bytes) -> list[Envelope]:
    """The envelopes of a batch frame, in the order sent.

    Raises:
        DecodeError: ``frame`` is not a ``batch.v1`` frame, or its body is not an
            array of envelopes (malformed, wrong types, nested too deeply, ...).
    """
    if not frame.startswith(BATCH_TOPIC):
        raise DecodeError(f"not a batch frame: it does not start with {BATCH_TOPIC!r} (starts {frame[:16]!r})")
    try:
        return _decoder.decode(memoryview(frame)[len(BATCH_TOPIC) :])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(f"invalid batch frame: {exc}") from None
    except RecursionError:
        raise DecodeError("invalid batch frame: nested too deeply") from None
    except Exception as exc:  # whatever else the input provokes is still the input's fault
        raise DecodeError(f"invalid batch frame: {type(exc).__name__}: {exc}") from None
