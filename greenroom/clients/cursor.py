"""A follower's place in the timeline: which live frames to yield, and when to replay instead."""

from __future__ import annotations

import msgspec

from greenroom.bus import protocol as p
from greenroom.bus.batch_frames import decode_batch
from greenroom.bus.codec import decode_envelope
from greenroom.bus.envelope import Envelope
from greenroom.bus.errors import DecodeError

_envelope_decoder = msgspec.msgpack.Decoder(Envelope)
QUIET_MS = 500
"""A follower that receives nothing for this long replays from its cursor: a burst's dropped
tail has no later frame to reveal the gap."""


class Cursor:
    """Keeps a timeline in order: decides, for each live frame, what to yield."""

    def __init__(self, next_seq: int, task_id: str | None) -> None:
        self.next_seq = next_seq
        self.task_id = task_id

    def advance(self, page: p.Events, upto: int | None) -> bool:
        """Move past a replayed page; True when the replay is complete (or stuck)."""
        advanced = page.next_seq > self.next_seq
        self.next_seq = max(self.next_seq, page.next_seq)
        return not advanced or self.next_seq > (page.head if upto is None else upto)

    def wants(self, env: Envelope) -> bool:
        return self.task_id is None or env.task_id == self.task_id

    @staticmethod
    def parse(frame: bytes) -> Envelope:
        try:  # the per-frame path of every follower: the decoder directly, no wrapper
            return _envelope_decoder.decode(frame[frame.index(b" ") + 1 :])
        except Exception:
            return decode_envelope(frame.partition(b" ")[2])

    @staticmethod
    def envelopes(frame: bytes, batched: bool) -> list[Envelope]:
        """A live frame's envelopes. A batch frame that does not decode gives none: the
        follower then sees a gap at the next frame (or when quiet) and replays those events."""
        if not batched:
            return [Cursor.parse(frame)]
        try:
            return decode_batch(frame)
        except DecodeError:
            return []


__all__ = ["QUIET_MS", "Cursor"]
