"""Replays on their own workers, answered from the journal's bytes.

Clients heal timeline gaps with ``replay``; dozens of them at once (a burst
after a restart, many slow followers) must not starve ``status`` or a
confirmation. A control worker that receives a replay hands it here together
with its nng context (and goes on with a fresh one); ``workers`` threads serve
the queue, each resting after a reply in proportion to the time it took, so
replays together use at most ``share`` of a core however many clients ask.
When the queue is full the control worker serves it itself (slower for
everyone, never refused).

A page for an ipc (or operator/admin) client asking in msgpack is the journal's
rows spliced into the reply as they are (``msgspec.Raw``): no decode, no
re-encode. Rows this process committed are its own encodings; rows from before
it started are decoded once first (the checked ranges are remembered), so a
corrupt one still arrives as its ``error`` placeholder (``decode_row``). JSON
requests and viewers (redaction) take the decoded path.
"""

from __future__ import annotations

import bisect
import contextlib
import queue
import threading
import time
from collections.abc import Callable

import msgspec
import pynng
import structlog

from greenroom.bus import Bus, BusClosedError, Journal, decode_row, encode, encode_envelope
from greenroom.bus import protocol as p
from greenroom.bus.codec import Format
from greenroom.bus.journal import Row
from greenroom.runtime.nng import ContextIO

log = structlog.get_logger(__name__)

MAX_REPLAY = 5000
"""Most events one replay reply holds."""


class RawEvents(msgspec.Struct, tag="events", frozen=True):
    """``protocol.Events`` with its envelopes already encoded: the same bytes on the wire."""

    events: list[msgspec.Raw]
    head: int
    next_seq: int


SETTLE_S = 5.0
"""How long a request waits for the listeners of the committed rows (microseconds, normally)."""
SETTLE_WARN_S = 10.0
"""Requests served past a stuck listener are logged at most this often."""


def settled_head(bus: Bus) -> int:
    """The journal's head, once the bus's listeners have run on every row up to it.

    The timeline is the bus's first listener: a client can see a row before the task,
    chat and schedule indexes (the later listeners) have folded it. So every request
    waits here before it is served (``Gateway._serve``): a client that sees
    ``task.finished`` and asks at once reads the task finished. A replay serves up to
    the journal's head, not the bus's durable mark, because a client healing a gap it
    has just seen must find those rows. A head that does not settle in ``SETTLE_S``
    (a stuck listener) is served as it is, and logged (at most every ``SETTLE_WARN_S``).
    """
    head = bus.journal.head
    try:
        bus.wait_durable(head, timeout=SETTLE_S)
    except BusClosedError:
        pass
    except TimeoutError:
        _STUCK.warn(head, bus.head)
    return head


class _StuckListeners:
    """Logs that requests are served past listeners still running (at most every ``SETTLE_WARN_S``)."""

    def __init__(self) -> None:
        self._last = -SETTLE_WARN_S

    def warn(self, head: int, durable: int) -> None:
        now = time.monotonic()
        if now - self._last >= SETTLE_WARN_S:  # threads racing here may log twice: harmless
            self._last = now
            log.warning("listeners_stuck", head=head, durable=durable, waited_s=SETTLE_S, served="unsettled")


_STUCK = _StuckListeners()


def page(journal: Journal, head: int, request: p.Replay) -> tuple[list[Row], int]:
    """The journal rows a replay asks for (at most ``MAX_REPLAY``) and the ``next_seq`` to ask from."""
    start, limit = max(1, request.from_seq), max(1, min(request.limit, MAX_REPLAY))
    upto = head if request.to_seq is None else min(request.to_seq, head)
    rows = journal.read_rows(start, upto, task_id=request.task_id, limit=limit)
    # A full page may have more behind it; otherwise everything to `upto` was read.
    next_seq = rows[-1][0] + 1 if len(rows) == limit else max(request.from_seq, upto + 1)
    return rows, next_seq


def decoded_events(journal: Journal, head: int, request: p.Replay) -> p.Events:
    """The page as decoded envelopes (corrupt rows as their placeholders)."""
    rows, next_seq = page(journal, head, request)
    return p.Events(events=[decode_row(r, journal.report_corrupt)[0] for r in rows], head=head, next_seq=next_seq)


Fallback = Callable[[p.Request, Format, int], bytes]


class SeqRanges:
    """A set of seqs kept as sorted, disjoint, inclusive ranges (thread-safe)."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._lock = threading.Lock()

    def covers(self, first: int, last: int) -> bool:
        """Whether every seq of ``first..last`` is in the set."""
        with self._lock:
            i = bisect.bisect_right(self._starts, first) - 1
            return i >= 0 and self._ends[i] >= last

    def add(self, first: int, last: int) -> None:
        """Add ``first..last``, merging with the ranges it touches."""
        with self._lock:
            lo = bisect.bisect_left(self._ends, first - 1)  # first range that ends at or after first - 1
            hi = bisect.bisect_right(self._starts, last + 1)  # ranges from lo to hi touch first..last
            if lo < hi:
                first, last = min(first, self._starts[lo]), max(last, self._ends[hi - 1])
            self._starts[lo:hi] = [first]
            self._ends[lo:hi] = [last]


class Replays:
    """The replay queue and its workers.

    Args:
        journal: what replays read.
        head: the bus's committed head (read per request).
        raw_ok: whether a pipe may get the journal's bytes as they are (not a viewer).
        fallback: serves a request the ordinary way (JSON, viewers, a full queue).
        workers: threads serving replays.
        share: of one core's time, what all replay workers together may take (each rests after
            a reply for as long as that keeps it to ``share / workers``).
        max_queued: replays waiting at most before control workers serve them themselves.
    """

    def __init__(
        self,
        journal: Journal,
        head: Callable[[], int],
        raw_ok: Callable[[int], bool],
        fallback: Fallback,
        *,
        workers: int = 2,
        share: float = 0.5,
        max_queued: int = 256,
    ) -> None:
        self.journal = journal
        self._head = head
        self._raw_ok = raw_ok
        self._fallback = fallback
        self.workers = max(1, workers)
        self.share = min(max(share, 0.01), float(self.workers))
        self._queue: queue.Queue[tuple[ContextIO, p.Replay, Format, int] | None] = queue.Queue(
            max(max_queued, self.workers)
        )
        self.trusted_from = journal.head + 1
        """Rows from this seq on were committed by this process (encoded by its bus)."""
        self._checked_seqs = SeqRanges()
        self.on_done: Callable[[ContextIO], None] = lambda io: None
        """Called with a handed-over context once its reply is sent (the gateway closes it)."""
        self.served = 0
        self._stopping = False

    def take(self, io: ContextIO, request: p.Replay, fmt: Format, pipe_id: int) -> bool:
        """Queue a replay with the context to answer on; False when the queue is full (or closing)."""
        if self._stopping:
            return False
        try:
            self._queue.put_nowait((io, request, fmt, pipe_id))
        except queue.Full:
            return False
        return True

    def reply(self, request: p.Replay, fmt: Format, pipe_id: int) -> bytes:
        """The encoded reply to ``request``."""
        if fmt != "msgpack" or not self._raw_ok(pipe_id):
            return self._fallback(request, fmt, pipe_id)
        head = self._head()
        rows, next_seq = page(self.journal, head, request)
        events = self._events(rows, contiguous=request.task_id is None)
        return encode(RawEvents(events=events, head=head, next_seq=next_seq))

    def _events(self, rows: list[Row], *, contiguous: bool) -> list[msgspec.Raw]:
        """The rows' bodies, each older row decoded once first (then remembered as checked)."""
        if not rows:
            return []
        first, last_old = rows[0][0], min(rows[-1][0], self.trusted_from - 1)
        if first <= last_old and not self._checked_seqs.covers(first, last_old):
            events = [msgspec.Raw(r[4]) if r[0] >= self.trusted_from else self._checked(r) for r in rows]
            if contiguous:  # no task filter: the page holds every seq from first on
                self._checked_seqs.add(first, last_old)
            return events
        corrupt = self.journal.corrupt  # found (and reported) while checking: their placeholders
        if corrupt:
            return [self._checked(r) if r[0] in corrupt else msgspec.Raw(r[4]) for r in rows]
        return [msgspec.Raw(r[4]) for r in rows]

    def _checked(self, row: Row) -> msgspec.Raw:
        env, ok = decode_row(row, self.journal.report_corrupt)
        return msgspec.Raw(row[4] if ok else encode_envelope(env))

    def run(self) -> None:
        """One worker: serve queued replays until :meth:`close`, resting after each for its share."""
        rest = self.workers / self.share - 1  # each worker busy at most share/workers of the time
        while (item := self._queue.get()) is not None:
            io, request, fmt, pipe_id = item
            started = time.perf_counter()
            try:
                try:
                    data = self.reply(request, fmt, pipe_id)
                except Exception as exc:  # the request's own fault or ours: an answer either way
                    log.error("replay_failed", error=repr(exc))
                    data = encode(p.ErrorReply(code="internal", message=f"replay failed: {exc}"[:2000]), fmt)
                with contextlib.suppress(pynng.NNGException):
                    io.send(data)
                self.served += 1
            finally:
                self.on_done(io)
            if rest > 0:
                time.sleep((time.perf_counter() - started) * rest)

    def close(self) -> None:
        """Stop the workers: what still waits gets no answer (its socket is closing)."""
        self._stopping = True
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self.on_done(item[0])
        for _ in range(self.workers):
            with contextlib.suppress(queue.Full):  # a take() that raced the flag: that worker stops later
                self._queue.put(None, timeout=1)
