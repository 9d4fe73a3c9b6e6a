"""The in-process bus: numbers events, journals them in batches, fans them out.

``publish`` never blocks on I/O or on a subscriber: it assigns the next ``seq``
and appends to a pending batch. One writer thread commits batches to the
journal and only then delivers them, so every event that anyone sees, inside
the process or outside it, is already durable. ``publish(..., durable=True)``
(or ``flush``) waits for that commit; use it before any side effect that
depends on the event.

Each subscriber has a bounded queue. A full queue drops for that subscriber
only; the subscription then reads what it missed back from the journal, so a
slow subscriber sees every event, in order, exactly once, and never slows the
publisher or the other subscribers.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import structlog

from greenroom.bus.codec import decode_row, encode_envelope
from greenroom.bus.envelope import Envelope
from greenroom.bus.errors import BusClosedError, JournalError
from greenroom.bus.events import Error, Event, event_type
from greenroom.bus.journal import Journal, Row
from greenroom.bus.masking import Masker, mask_envelope

log = structlog.get_logger(__name__)

REPLAY_PAGE = 1000
T = TypeVar("T")


class _Job:
    """Work for the writer thread (``Bus.exclusive``): its result or error, once done."""

    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[Journal], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self, journal: Journal) -> None:
        try:
            self.result = self.fn(journal)
        except BaseException as exc:  # handed to the caller, who raises it
            self.error = exc
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class Record:
    """A committed event: its envelope and its msgpack body, exactly as journaled."""

    __slots__ = ("envelope", "raw", "seq")

    def __init__(self, seq: int, raw: bytes, envelope: Envelope) -> None:
        self.seq = seq
        self.raw = raw
        self.envelope = envelope


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
        on_ready: called (on the writer thread) when the queue turns non-empty
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

    # -- producer side (writer thread) ---------------------------------------------------

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

    def _replay(self, upto: int | None) -> int:
        """Fill the backlog from the journal: ``next_seq .. upto`` (or to the head); returns the rows read.

        Rows are decoded here, so a corrupt row reaches consumers as its ``error``
        placeholder (see ``decode_row``), never as bytes they cannot read.
        """
        journal = self._bus.journal
        rows = journal.read_rows(self.next_seq, upto, limit=REPLAY_PAGE)
        for row in rows:
            env, ok = decode_row(row, journal.report_corrupt)
            self._backlog.append(Record(env.seq, row[4] if ok else encode_envelope(env), env))
        self.replayed += len(rows)
        return len(rows)

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
                if self._replay(rec.seq - 1):
                    self._backlog.append(rec)
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


class Bus:
    """Numbers, journals and delivers events.

    Args:
        journal: where events are committed.
        clock: wall-clock source for envelope timestamps.
        max_batch: most events committed in one transaction.
        mask: masks secrets in events before they are journaled or delivered (the policy's
            masker). It works on decoded values (``mask_envelope``): an event whose encoding
            holds one of the masker's markers is walked, masked and encoded again.
    """

    def __init__(
        self,
        journal: Journal,
        *,
        clock: Callable[[], float] = time.time,
        max_batch: int = 8192,
        mask: Masker | None = None,
    ) -> None:
        self.journal = journal
        self._mask = mask
        self._clock = clock
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._seq = journal.head
        self._pending: list[Envelope] = []
        self._wake = threading.Event()
        self._idle = True
        self._durable = journal.head
        self._durable_cond = threading.Condition()
        self._subs: list[Subscription] = []
        self._jobs: list[_Job] = []
        self._listeners: list[Callable[[list[Record]], None]] = []
        self._closed = False
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._writer_loop, name="bus-writer", daemon=True)
        self._thread.start()

    # -- publishing ------------------------------------------------------------------------

    def publish(
        self,
        event: Event,
        *,
        source: str,
        task_id: str | None = None,
        causation_id: int | None = None,
        correlation_id: str | None = None,
        durable: bool = False,
    ) -> Envelope:
        """Number ``event`` and queue it for the journal; never blocks on subscribers.

        Args:
            durable: wait until the event is committed (and delivered) before returning.

        Raises:
            BusClosedError: the bus is closed, or its writer failed.
        """
        with self._lock:
            if self._closed:
                raise BusClosedError("bus is closed")
            self._seq += 1
            env = Envelope(
                seq=self._seq,
                ts=self._clock(),
                source=source,
                event=event,
                task_id=task_id,
                causation_id=causation_id,
                correlation_id=correlation_id,
            )
            self._pending.append(env)
            if self._idle:
                self._idle = False
                self._wake.set()
        if durable:
            self.wait_durable(env.seq)
        return env

    def wait_durable(self, seq: int, timeout: float | None = 30.0) -> None:
        """Block until every event up to ``seq`` is committed and delivered.

        Raises:
            BusClosedError: the writer failed, or the bus closed first.
            TimeoutError: not committed within ``timeout`` seconds.
        """
        with self._durable_cond:
            ok = self._durable_cond.wait_for(
                lambda: self._durable >= seq or self._failure is not None or self._stopped,
                timeout,
            )
        if self._failure is not None:
            raise BusClosedError(f"journal writer failed: {self._failure}") from self._failure
        if self._durable < seq:
            if not ok:
                raise TimeoutError(f"event {seq} not committed within {timeout}s")
            raise BusClosedError("bus closed before the event was committed")

    def flush(self, timeout: float | None = 30.0) -> int:
        """Wait until everything published so far is committed; return that seq."""
        with self._lock:
            seq = self._seq
        self.wait_durable(seq, timeout)
        return seq

    @property
    def head(self) -> int:
        """The last committed (durable) seq."""
        return self._durable

    def exclusive(self, fn: Callable[[Journal], T], timeout: float | None = 600.0) -> T:
        """Run ``fn(journal)`` on the writer thread once what is published so far is committed.

        Journal maintenance (rewriting rows, folding, checkpoints) goes through here, so
        the journal keeps one writer. Publishing never blocks meanwhile; events queue
        and are committed after ``fn`` returns, so keep each call short.

        Raises:
            BusClosedError: the bus closed (or its writer failed) before ``fn`` ran.
            TimeoutError: ``fn`` did not finish within ``timeout`` seconds.
            Exception: whatever ``fn`` raised.
        """
        job = _Job(fn)
        with self._lock:
            if self._closed:
                raise BusClosedError("bus is closed")
            self._jobs.append(job)
            if self._idle:
                self._idle = False
                self._wake.set()
        if not job.done.wait(timeout):
            raise TimeoutError(f"journal maintenance did not finish within {timeout}s")
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    # -- subscribing -----------------------------------------------------------------------

    def subscribe(
        self,
        name: str,
        *,
        maxsize: int = 65536,
        from_seq: int | None = None,
        on_ready: Callable[[], Any] | None = None,
    ) -> Subscription:
        """Subscribe to every committed event from ``from_seq`` on (default: the next one)."""
        with self._durable_cond:
            start = self._durable + 1 if from_seq is None else max(1, from_seq)
            sub = Subscription(self, name, maxsize, start, on_ready)
            sub._catchup_to = self._durable  # what is already committed is read from the journal
            self._subs = [*self._subs, sub]
        if from_seq is not None and start <= self._durable and on_ready is not None:
            on_ready()
        return sub

    def add_listener(self, fn: Callable[[list[Record]], None]) -> None:
        """Call ``fn(records)`` on the writer thread after each commit, before subscribers.

        For small synchronous views (such as the task index) that must never lag
        the journal. ``fn`` must be fast and must not publish.
        """
        self._listeners.append(fn)

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._durable_cond:
            self._subs = [s for s in self._subs if s is not sub]

    # -- writer ----------------------------------------------------------------------------

    @property
    def _stopped(self) -> bool:
        return self._closed and not self._thread.is_alive()

    def _writer_loop(self) -> None:
        while True:
            with self._lock:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                jobs: list[_Job] = []
                if not self._pending:  # jobs run once what was published before them is committed
                    jobs, self._jobs = self._jobs, []
                if not batch and not jobs:
                    if self._closed:
                        break
                    self._idle = True
                    self._wake.clear()
            if not batch and not jobs:
                self._wake.wait()
                continue
            try:
                if batch:
                    self._commit(batch)
            except Exception as exc:
                log.error("journal_write_failed", error=str(exc), events=len(batch))
                with self._lock:
                    self._closed = True
                self._failure = exc
                jobs += self._jobs
                for job in jobs:
                    job.fail(BusClosedError(f"journal writer failed: {exc}"))
                break
            for job in jobs:
                job.run(self.journal)
        with self._lock:
            leftover, self._jobs = self._jobs, []
        for job in leftover:
            job.fail(BusClosedError("bus closed before the maintenance ran"))
        with self._durable_cond:
            self._durable_cond.notify_all()

    def _encode_batch(self, batch: list[Envelope]) -> tuple[list[Envelope], list[bytes]]:
        """Encode (and mask) a batch; an event that cannot be encoded becomes an ``error`` event.

        The batch's markers are checked once on the joined bytes: most batches (token
        chunks, lifecycle events) hold none and cost no per-event check.
        """
        envs = list(batch)
        raws = [self._encode_one(i, envs) for i in range(len(envs))]
        mask = self._mask
        if mask is not None and mask.candidates(b"\0".join(raws)):
            for i, raw in enumerate(raws):
                if mask.candidates(raw):
                    raws[i] = self._encode_one(i, envs, mask)
        return envs, raws

    def _encode_one(self, i: int, envs: list[Envelope], mask: Masker | None = None) -> bytes:
        env = envs[i]
        try:
            if mask is not None:
                env = mask_envelope(env, mask)
            raw = encode_envelope(env)
        except Exception as exc:  # nested too deeply, or a value msgpack cannot hold
            kind = event_type(env.event)
            log.error("event_not_journaled", seq=env.seq, type=kind, error=repr(exc))
            env = msgspec.structs.replace(
                env, event=Error(message=f"a {kind} event could not be journaled: {exc}", code="unencodable_event")
            )
            raw = encode_envelope(env)
        envs[i] = env
        return raw

    def _commit(self, batch: list[Envelope]) -> None:
        envs, raws = self._encode_batch(batch)
        rows: list[Row] = [
            (env.seq, env.ts, event_type(env.event), env.task_id, raw) for env, raw in zip(envs, raws, strict=True)
        ]
        records = [Record(env.seq, raw, env) for env, raw in zip(envs, raws, strict=True)]
        self.journal.append(rows)
        for listener in self._listeners:
            try:
                listener(records)
            except Exception:
                log.exception("bus_listener_failed", listener=repr(listener))
        with self._durable_cond:
            self._durable = batch[-1].seq
            self._durable_cond.notify_all()
            subs = self._subs
        for sub in subs:
            sub._offer(records)

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is pending, stop the writer, wake every subscriber (idempotent)."""
        with self._lock:
            self._closed = True
            self._wake.set()
        self._thread.join(timeout)
        for sub in list(self._subs):
            sub.close()
        if self._thread.is_alive():
            raise JournalError("bus writer did not stop in time")
