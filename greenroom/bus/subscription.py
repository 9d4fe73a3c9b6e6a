"""What subscribers get: committed records, and a subscription that never misses one.

A subscription's live queue is bounded; when it overflows, events are dropped
for that subscriber only and read back from the journal on the next
``get``/``drain``, so the consumer never sees a gap or a duplicate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from greenroom.bus.codec import decode_row, encode_envelope
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import event_type

if TYPE_CHECKING:
    from greenroom.bus.bus import Bus

REPLAY_PAGE = 1000


class Record(msgspec.Struct, gc=False):
    """A committed event: its seq, its msgpack body exactly as journaled, its envelope, and its type.

    ``type`` is the journal row's type column and the timeline topic, known before
    encoding, so nobody downstream has to look into the event for it. A msgspec
    Struct: one is built per event on the commit path, and its C constructor costs
    a fifth of a Python ``__init__``.
    """

    seq: int
    raw: bytes
    envelope: Envelope
    type: str


class Subscription:
    """One subscriber's view of the bus: every committed event from ``next_seq`` on, in order.

    Live events arrive through a bounded queue. When it overflows, events are
    dropped for this subscriber only and read back from the journal on the next
    ``get``/``drain``, so the consumer never sees a gap or a duplicate.

    Args:
        bus: the bus it belongs to.
        name: for logs and stats.
        maxsize: bound of the live queue.
        next_seq: the first seq this subscriber wants.
        on_ready: called (on the committing thread) when the queue turns non-empty
            or overflows; keep it cheap and non-blocking.
    """

    def __init__(
        self,
        bus: Bus,
        name: str,
        maxsize: int,
        next_seq: int,
        on_ready: Callable[[], Any] | None = None,
    ) -> None:
        self.name = name
        self.maxsize = maxsize
        self.next_seq = next_seq
        self.dropped = 0
        self.replayed = 0
        self._bus = bus
        self._queue: deque[Record] = deque()
        self._backlog: deque[Record] = deque()
        self._overflow = False
        self._catchup_to = 0
        self._on_ready = on_ready
        self._cond = threading.Condition(threading.Lock())
        self._waiting = False
        self._closed = False

    # -- producer side (the committing thread) ---------------------------------------------------

    def _offer(self, records: list[Record]) -> None:
        notify = False
        with self._cond:
            if self._closed:
                return
            queue = self._queue
            was_empty = not queue
            room = self.maxsize - len(queue)
            if room >= len(records):
                queue.extend(records)
            else:
                if room > 0:
                    queue.extend(records[:room])
                self.dropped += len(records) - max(room, 0)
                self._overflow = True
            notify = was_empty or self._overflow
            if self._waiting:
                self._cond.notify()
        if notify and self._on_ready is not None:
            self._on_ready()

    # -- consumer side -------------------------------------------------------------------

    def _read(self, upto: int | None) -> list[Record]:
        """One page of the journal from ``next_seq`` to ``upto`` (or to the head), as records.

        Rows are decoded here, so a corrupt row reaches consumers as its ``error``
        placeholder (see ``decode_row``), never as bytes they cannot read.
        """
        journal = self._bus.journal
        rows = journal.read_rows(self.next_seq, upto, limit=REPLAY_PAGE)
        records = []
        for row in rows:
            env, ok = decode_row(row, journal.report_corrupt)
            if ok:
                records.append(Record(env.seq, row[4], env, row[2]))
            else:
                records.append(Record(env.seq, encode_envelope(env), env, event_type(env.event)))
        self.replayed += len(rows)
        return records

    def _replay(self, upto: int | None) -> int:
        """Fill the (empty) backlog from the journal: ``next_seq .. upto``; returns the rows read."""
        records = self._read(upto)
        self._backlog.extend(records)
        return len(records)

    def _next_ready(self) -> Record | None:
        """The next record in order, healing gaps from the journal; None when caught up."""
        rec: Record | None
        while True:
            if not self._backlog and self.next_seq <= self._catchup_to and not self._replay(self._catchup_to):
                self.next_seq = self._catchup_to + 1  # continue a catch-up, page by page; none left: a hole
            if self._backlog:
                rec = self._backlog.popleft()
            else:
                with self._cond:
                    rec = self._queue.popleft() if self._queue else None
                    overflow = self._overflow
                    if rec is None and overflow:
                        self._overflow = False
                if rec is None:
                    if not overflow:
                        return None
                    # Queue drained after an overflow: read what was dropped.
                    self._catchup_to = self._bus.head
                    self._replay(self._catchup_to)
                    if not self._backlog:
                        return None
                    continue
            if rec.seq < self.next_seq:
                continue  # already delivered (read back from the journal earlier)
            if rec.seq > self.next_seq:
                # A gap: events were dropped before this one. Read them back first; when the
                # journal has none there, the range is a hole (folded by compaction): go on.
                healed = self._read(rec.seq - 1)
                if healed:
                    # Ahead of the rest of the backlog, which comes after ``rec``: appended,
                    # every later record would find the same gap and read it again.
                    healed.append(rec)
                    self._backlog.extendleft(reversed(healed))
                    continue
                self.next_seq = rec.seq
            self.next_seq = rec.seq + 1
            return rec

    def drain(self, max_items: int | None = None) -> list[Record]:
        """Every record available now, in order (non-blocking)."""
        out: list[Record] = []
        if not self._backlog and max_items is None:
            # Fast path: take the whole live queue in one lock round-trip; fall back to
            # the careful path only when it does not continue exactly where we are.
            with self._cond:
                taken, self._queue = self._queue, deque()
            if taken and taken[0].seq == self.next_seq and taken[-1].seq == self.next_seq + len(taken) - 1:
                self.next_seq = taken[-1].seq + 1
                out.extend(taken)
            else:
                self._backlog.extend(taken)
        while max_items is None or len(out) < max_items:
            rec = self._next_ready()
            if rec is None:
                break
            out.append(rec)
        return out

    def get(self, timeout: float | None = None) -> Record | None:
        """The next record, waiting up to ``timeout`` seconds; None on timeout or close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            rec = self._next_ready()
            if rec is not None:
                return rec
            with self._cond:
                if self._closed:
                    return None
                if self._queue or self._overflow:
                    continue
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._waiting = True
                try:
                    self._cond.wait(remaining)
                finally:
                    self._waiting = False

    def close(self) -> None:
        """Stop receiving; wakes a blocked ``get``."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
        self._bus._unsubscribe(self)

    @property
    def closed(self) -> bool:
        return self._closed
