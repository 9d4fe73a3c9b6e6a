"""Encoding and decoding of frames: msgpack by default, JSON when a frame starts with ``{``.

Encoders and decoders are built once and reused (msgspec's perf advice). Framing
(topics, lengths) belongs to the socket layer, not here.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

import msgspec

from greenroom.bus.envelope import Envelope
from greenroom.bus.errors import DecodeError

T = TypeVar("T")

Format = Literal["msgpack", "json"]

_mp_encoder = msgspec.msgpack.Encoder()
_json_encoder = msgspec.json.Encoder()


def detect_format(frame: bytes) -> Format:
    """JSON when the frame starts with ``{`` (0x7B), msgpack otherwise.

    A msgpack map never starts with 0x7B (that byte is a positive fixint), so
    the rule is unambiguous for the map-shaped messages this protocol uses.
    """
    return "json" if frame[:1] == b"{" else "msgpack"


def encode(obj: Any, fmt: Format = "msgpack") -> bytes:
    """Encode ``obj`` in ``fmt``."""
    return _mp_encoder.encode(obj) if fmt == "msgpack" else _json_encoder.encode(obj)


class Codec(Generic[T]):
    """A pair of decoders for one message type, msgpack and JSON."""

    def __init__(self, type_: type[T] | Any) -> None:
        self._mp = msgspec.msgpack.Decoder(type_)
        self._json = msgspec.json.Decoder(type_)

    def decode(self, frame: bytes) -> tuple[T, Format]:
        """Decode ``frame`` and report which format it was in.

        Raises:
            DecodeError: the frame is empty or not a valid message of this type.
        """
        if not frame:
            raise DecodeError("empty frame")
        fmt = detect_format(frame)
        try:
            msg = self._json.decode(frame) if fmt == "json" else self._mp.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise DecodeError(f"invalid {fmt} frame: {exc}") from None
        return msg, fmt


envelope_codec: Codec[Envelope] = Codec(Envelope)


def encode_envelope(env: Envelope) -> bytes:
    """The msgpack encoding of ``env``: what the journal stores and the timeline sends."""
    return _mp_encoder.encode(env)


def decode_envelope(raw: bytes) -> Envelope:
    """Decode a msgpack envelope (as stored in the journal)."""
    return envelope_codec.decode(raw)[0]


def envelope_to_json(env: Envelope) -> bytes:
    """The JSON encoding of ``env``."""
    return _json_encoder.encode(env)
