"""Events, envelope, codec, the in-process bus and the SQLite journal.

This package imports nothing else of greenroom. Its names load lazily (see
``greenroom._lazy``): a client that needs the codec does not pay for the bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
    from greenroom.bus import protocol
    from greenroom.bus.bus import Bus
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
    from greenroom.bus.masking import MarkerScan, Masker, map_strings, mask_envelope
    from greenroom.bus.subscription import Record, Subscription

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Bus": "bus",
        "Record": "subscription",
        "Subscription": "subscription",
        "CORRUPT_EVENT": "codec",
        "Codec": "codec",
        "decode_envelope": "codec",
        "decode_row": "codec",
        "detect_format": "codec",
        "encode": "codec",
        "encode_envelope": "codec",
        "envelope_codec": "codec",
        "envelope_to_json": "codec",
        "read_envelopes": "codec",
        "Envelope": "envelope",
        "BusClosedError": "errors",
        "BusError": "errors",
        "DecodeError": "errors",
        "JournalError": "errors",
        "TERMINAL_EVENTS": "events",
        "Event": "events",
        "PlanStep": "events",
        "event_type": "events",
        "Journal": "journal",
        "create_private_file": "journal",
        "MarkerScan": "masking",
        "Masker": "masking",
        "map_strings": "masking",
        "mask_envelope": "masking",
    },
)
__all__ += ["protocol"]
