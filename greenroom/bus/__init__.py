"""Events, envelope, codec, the in-process bus and the SQLite journal.

This package imports nothing else of greenroom.
"""

from __future__ import annotations

from greenroom.bus.bus import Bus, Record, Subscription
from greenroom.bus.codec import (
    Codec,
    decode_envelope,
    detect_format,
    encode,
    encode_envelope,
    envelope_codec,
    envelope_to_json,
)
from greenroom.bus.envelope import Envelope
from greenroom.bus.errors import BusClosedError, BusError, DecodeError, JournalError
from greenroom.bus.events import TERMINAL_EVENTS, Event, PlanStep, event_type
from greenroom.bus.journal import Journal, create_private_file

__all__ = [
    "TERMINAL_EVENTS",
    "Bus",
    "BusClosedError",
    "BusError",
    "Codec",
    "DecodeError",
    "Envelope",
    "Event",
    "Journal",
    "JournalError",
    "PlanStep",
    "Record",
    "Subscription",
    "create_private_file",
    "decode_envelope",
    "detect_format",
    "encode",
    "encode_envelope",
    "envelope_codec",
    "envelope_to_json",
    "event_type",
]

from greenroom.bus import protocol

__all__ += ["protocol"]
