"""Events, envelope, codec, the in-process bus and the SQLite journal.

This package imports nothing else of greenroom.
"""

from __future__ import annotations

from greenroom.bus.bus import Bus, Record, Subscription
from greenroom.bus.codec import (
    CORRUPT_EVENT,
    Codec,
    decode_envelope,
    decode_row,
    detect_format,
    encode,
    encode_envelope,
    envelope_codec,
    envelope_to_json,
    read_envelopes,
)
from greenroom.bus.envelope import Envelope
from greenroom.bus.errors import BusClosedError, BusError, DecodeError, JournalError
from greenroom.bus.events import TERMINAL_EVENTS, Event, PlanStep, event_type
from greenroom.bus.journal import Journal, create_private_file
from greenroom.bus.masking import Masker, map_strings, mask_envelope

__all__ = [
    "CORRUPT_EVENT",
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
    "Masker",
    "PlanStep",
    "Record",
    "Subscription",
    "create_private_file",
    "decode_envelope",
    "decode_row",
    "detect_format",
    "encode",
    "encode_envelope",
    "envelope_codec",
    "envelope_to_json",
    "event_type",
    "map_strings",
    "mask_envelope",
    "read_envelopes",
]

from greenroom.bus import protocol

__all__ += ["protocol"]
