"""Encoding and decoding of frames: msgpack by default, JSON when a frame starts with ``{``.

Encoders and decoders are built once and reused (msgspec's perf advice). Framing
(topics, lengths) belongs to the socket layer, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

import msgspec

from greenroom.bus.envelope import Envelope
from greenroom.bus.errors import DecodeError
from greenroom.bus.events import Error
from greenroom.bus.journal import Journal, Row

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
        self._type = type_
        self._mp = msgspec.msgpack.Decoder(type_)
        self._json_decoder: msgspec.json.Decoder[Any] | None = None

    @property
    def _json(self) -> msgspec.json.Decoder[Any]:
        # Built on the first JSON frame: for a large union it takes ~10 ms, a CLI start's worth.
        if self._json_decoder is None:
            self._json_decoder = msgspec.json.Decoder(self._type)
        return self._json_decoder

    def decode(self, frame: bytes) -> tuple[T, Format]:
        """Decode ``frame`` and report which format it was in.

        Raises:
            DecodeError: the frame is empty or not a valid message of this type, for
                whatever reason (malformed, wrong types, nested too deeply, ...).
        """
        if not frame:
            raise DecodeError("empty frame")
        fmt = detect_format(frame)
        try:
            msg = self._json.decode(frame) if fmt == "json" else self._mp.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise DecodeError(f"invalid {fmt} frame: {exc}") from None
        except RecursionError:
            raise DecodeError(f"invalid {fmt} frame: nested too deeply") from None
        except Exception as exc:  # whatever else the input provokes is still the input's fault
            raise DecodeError(f"invalid {fmt} frame: {type(exc).__name__}: {exc}") from None
        return msg, fmt


envelope_codec: Codec[Envelope] = Codec(Envelope)


def encode_envelope(env: Envelope) -> bytes:
    """The msgpack encoding of ``env``: what the journal stores and the timeline sends."""
    return _mp_encoder.encode(env)


def decode_envelope(raw: bytes) -> Envelope:
    """Decode a msgpack envelope (as stored in the journal).

    Raises:
        DecodeError: ``raw`` is not a valid envelope.
    """
    return envelope_codec.decode(raw)[0]


CORRUPT_EVENT = "corrupt_event"
"""The ``error`` code of the placeholder that stands in for a journal row that cannot be decoded."""


def decode_row(row: Row, on_corrupt: Callable[[int, str], None] | None = None) -> tuple[Envelope, bool]:
    """Decode a journal row; ``(envelope, True)``, or a placeholder and False for a corrupt row.

    The placeholder keeps the row's seq, time and task (from the row's own columns)
    and carries an ``error`` event naming what was lost, so readers never stop on
    one bad row and the timeline keeps its numbering.
    """
    seq, ts, kind, task_id, body = row
    try:
        env = decode_envelope(body)
    except DecodeError as exc:
        message = str(exc)
    else:
        if env.seq == seq:
            return env, True
        message = f"the stored envelope says seq {env.seq}"
    if on_corrupt is not None:
        on_corrupt(seq, message)
    placeholder = Error(message=f"journal row {seq} ({kind}) could not be decoded: {message}", code=CORRUPT_EVENT)
    return Envelope(seq=seq, ts=ts, source="journal", event=placeholder, task_id=task_id), False


def envelope_to_json(env: Envelope) -> bytes:
    """The JSON encoding of ``env``."""
    return _json_encoder.encode(env)


def read_envelopes(journal: Journal, from_seq: int = 1, to_seq: int | None = None, **filters: Any) -> list[Envelope]:
    """``journal.read_rows(...)`` decoded; corrupt rows come back as their placeholders (``decode_row``)."""
    return [decode_row(row, journal.report_corrupt)[0] for row in journal.read_rows(from_seq, to_seq, **filters)]
