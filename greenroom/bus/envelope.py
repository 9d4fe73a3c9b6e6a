"""The envelope: routing metadata around one event."""

from __future__ import annotations

import msgspec

from greenroom.bus.events import Event


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One journaled event and where it came from.

    ``seq`` is assigned by the bus, strictly increasing and without holes.
    ``causation_id`` is the seq of the event that led to this one, so
    "why did this happen?" is a walk back along causes; ``correlation_id``
    groups one conversation (a task's, or one request's).
    """

    seq: int
    ts: float
    source: str
    event: Event
    task_id: str | None = None
    causation_id: int | None = None
    correlation_id: str | None = None
