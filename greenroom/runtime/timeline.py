"""The ipc timeline sender: one hand-off from the journal commit to the Pub0 sockets.

The bus calls :meth:`Timeline.offer` right after each commit (its first
listener, on the committing thread, before the indexes fold the batch; requests
wait for those) with the committed records, which carry their type
(the topic) and the journal's own bytes. Frames are ``<type> <body>``: nothing
is decoded or re-encoded for the msgpack timeline, and the JSON timeline
encodes only while someone listens. The batch timeline gets the same batch as
few frames as fit (``greenroom.bus.batch_frames``: the journal's bodies behind
one array header), so a burst costs its followers one nng message per frame,
not per event.

A small batch that finds the sender thread idle is sent right there, on the
committing thread (a Pub0 send never blocks: nng drops for a full pipe), so a
single event goes from commit to socket with no hand-off at all; larger batches,
or any batch while the sender is still busy, go to the sender thread in one
hand-off, which keeps the order.

Bounded: when more than ``max_pending`` records wait (the sender starved of CPU),
further batches are not queued; the sender later reads that range back from the
journal (its rows hold type and body, so that is no decode either). So clients
see no gap the daemon caused; a gap from their own slowness (nng drops at a full
pipe) they heal with ``replay``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pynng
import structlog
from pynng._nng import lib
from pynng.exceptions import check_err

from greenroom.bus import Envelope, Journal, Record, decode_row, envelope_to_json, event_type
from greenroom.bus.batch_frames import batch_frames
from greenroom.bus.journal import Row

log = structlog.get_logger(__name__)

HEAL_PAGE = 2000
INLINE_MAX = 64
"""Batches up to this size are sent on the committing thread when the sender is idle."""


class Timeline:
    """Feeds the msgpack and JSON timeline sockets from the bus writer.

    Args:
        journal: where a dropped range is read back from.
        pub: the msgpack timeline socket.
        pub_json: the JSON timeline socket.
        max_pending: records queued at most before the sender heals from the journal instead.
        pub_batch: the batch timeline socket (several events a frame); None: none.
    """

    def __init__(
        self,
        journal: Journal,
        pub: pynng.Socket,
        pub_json: pynng.Socket,
        max_pending: int = 65536,
        pub_batch: pynng.Socket | None = None,
    ) -> None:
        self._journal = journal
        self._pub = pub
        self._pub_json = pub_json
        self._pub_batch = pub_batch
        self._max_pending = max_pending
        self._cond = threading.Condition(threading.Lock())
        self._batches: deque[list[Record]] = deque()
        self._pending = 0
        self._lost: tuple[int, int] | None = None
        self._waiting = False
        self._closed = False
        self._topics: dict[str, bytes] = {}
        self.healed = 0
        """Records read back from the journal after the queue overflowed (for tests and stats)."""
        self.sent = 0
        """The highest seq handed to the timeline sockets (nng then sends or drops it per follower)."""

    # -- producer side (the bus writer thread) --------------------------------------------

    def offer(self, records: list[Record]) -> None:
        """Send or queue a committed batch (a bus listener: never blocks on the sockets)."""
        with self._cond:
            if self._closed or not records:
                return
            inline = self._waiting and not self._batches and self._lost is None and len(records) <= INLINE_MAX
            if inline:
                pass  # the sender has sent everything it took, and commits do not overlap: order holds
            elif self._lost is not None or self._pending + len(records) > self._max_pending:
                first = records[0].seq if self._lost is None else self._lost[0]
                self._lost = (first, records[-1].seq)
            else:
                self._batches.append(records)
                self._pending += len(records)
            if not inline and self._waiting:
                self._cond.notify()
        if inline:
            with contextlib.suppress(pynng.Closed):  # the gateway is closing
                self._send(records)

    # -- the sender thread ----------------------------------------------------------------

    def run(self) -> None:
        """Send until :meth:`close`; nothing a single event does ends the loop."""
        while True:
            with self._cond:
                while not self._batches and self._lost is None and not self._closed:
                    self._waiting = True
                    self._cond.wait()
                self._waiting = False
                if self._closed:
                    return
                batches, self._batches = self._batches, deque()
                lost, self._lost = self._lost, None
                self._pending = 0
            try:
                for records in batches:
                    self._send(records)
                if lost is not None:
                    self._heal(*lost)
            except pynng.Closed:
                return

    def close(self) -> None:
        """Stop the sender (it returns from :meth:`run`)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _topic(self, kind: str) -> bytes:
        topic = self._topics.get(kind)
        if topic is None:
            topic = self._topics[kind] = kind.encode() + b" "
        return topic

    def _send(self, records: list[Record]) -> None:
        rows = [(rec.seq, rec.type, rec.raw) for rec in records]
        self._fan_out(rows, lambda: [(rec.type, rec.envelope) for rec in records])

    def _fan_out(self, rows: list[tuple[int, str, bytes]], envelopes: Callable[[], list[tuple[str, Envelope]]]) -> None:
        """``rows`` (seq, type, journal body) to each timeline socket somebody follows; ``envelopes``
        only if the JSON one has a follower. pynng counts a pipe before nng can send to it, so a
        socket skipped for having none would have delivered to nobody."""
        if self._pub.pipes:
            self._send_frames(rows)
        if self._pub_batch is not None and self._pub_batch.pipes:
            self._send_batches(rows[0][0], [row[2] for row in rows])
        if self._pub_json.pipes:
            self._send_json(envelopes())
        self.sent = max(self.sent, rows[-1][0])

    def _send_frames(self, frames: list[tuple[int, str, bytes]]) -> None:
        sock, topic = self._pub.socket, self._topic
        for seq, kind, raw in frames:
            _send_raw(sock, topic(kind) + raw, seq=seq)

    def _send_batches(self, first: int, bodies: list[bytes]) -> None:
        """``bodies`` (seq ``first`` on) as batch frames: one nng_send a frame, not an event."""
        assert self._pub_batch is not None
        sock = self._pub_batch.socket
        for frame in batch_frames(bodies):
            _send_raw(sock, frame, first_seq=first, format="batch")  # clients heal a lost frame from the journal

    def _send_json(self, envs: list[tuple[str, Envelope]]) -> None:
        for kind, env in envs:
            try:
                self._pub_json.send(self._topic(kind) + envelope_to_json(env))
            except pynng.Closed:
                raise
            except Exception as exc:
                log.error("timeline_send_failed", seq=env.seq, format="json", error=repr(exc))

    def _heal(self, first: int, last: int) -> None:
        """Send ``first..last`` from the journal: rows this process committed (type and body as they are)."""
        log.warning("timeline_healing", first=first, last=last)
        start = first
        while start <= last:
            rows = self._journal.read_rows(start, last, limit=HEAL_PAGE)
            if not rows:
                return
            self._fan_out([(row[0], row[2], row[4]) for row in rows], functools.partial(self._decoded, rows))
            self.healed += len(rows)
            start = rows[-1][0] + 1

    def _decoded(self, rows: list[Row]) -> list[tuple[str, Envelope]]:
        envs = [decode_row(row, self._journal.report_corrupt)[0] for row in rows]
        return [(event_type(env.event), env) for env in envs]


def _send_raw(sock: Any, frame: bytes, **where: Any) -> None:
    """nng_send itself (what pynng's send wraps): a Pub0 send queues to each pipe or drops, never blocks.

    One frame that cannot be sent must not end the timeline: it is logged (with ``where``).
    """
    err = lib.nng_send(sock, frame, len(frame), 0)
    if err:
        try:
            check_err(err)
        except pynng.Closed:
            raise
        except pynng.NNGException as exc:
            log.error("timeline_send_failed", error=repr(exc), **where)
