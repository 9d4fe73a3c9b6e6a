"""The in-process bus: numbers events, journals them in batches, fans them out.

``publish`` never blocks on I/O or on a subscriber: it assigns the next ``seq``
and appends to a pending batch. One writer thread commits batches to the
journal and only then delivers them, so every event that anyone sees, inside
the process or outside it, is already durable. ``publish(..., durable=True)``
(or ``flush``) waits for that commit; use it before any side effect that
depends on the event. A durable publish that finds nobody committing commits
the pending batch itself (group commit with the caller as leader): a single
event then reaches the journal, the listeners and the subscribers without a
thread hand-off. Commits never overlap; listeners and ``on_ready`` callbacks run
on whichever thread commits.

Each subscriber has a bounded queue. A full queue drops for that subscriber
only; the subscription then reads what it missed back from the journal, so a
slow subscriber sees every event, in order, exactly once, and never slows the
publisher or the other subscribers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar

import msgspec
import structlog

from greenroom.bus.codec import encode_envelope
from greenroom.bus.envelope import Envelope
from greenroom.bus.errors import BusClosedError, JournalError
from greenroom.bus.events import Error, Event, event_type
from greenroom.bus.journal import Journal
from greenroom.bus.masking import MarkerScan, Masker, mask_envelope
from greenroom.bus.subscription import Record, Subscription

log = structlog.get_logger(__name__)
_encode = msgspec.msgpack.Encoder().encode
T = TypeVar("T")


class _Job:
    """Work for the writer thread (``Bus.exclusive``): its result or error, once done."""

    __slots__ = ("after", "done", "error", "fn", "result")

    def __init__(self, fn: Callable[[Journal], Any], after: int) -> None:
        self.fn = fn
        self.after = after
        """The last seq published before the job: it runs once that is committed, before later events."""
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
        self._scan = MarkerScan(mask.markers if mask is not None else ())
        self._clock = clock
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._seq = journal.head
        self._pending: list[Envelope] = []
        self._wake = threading.Event()
        self._idle = True  # the writer is asleep on _wake
        self._committing = False  # a batch is being committed (by the writer or a leading publisher)
        self._durable = journal.head
        self._durable_cond = threading.Condition()
        self._subs: list[Subscription] = []
        self._jobs: list[_Job] = []
        self._listeners: list[tuple[Callable[[list[Record]], None], frozenset[str] | None]] = []
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
            lead = durable and self._idle and not self._committing
            if lead:
                # Group commit: nobody is committing, so this caller, who waits anyway, commits
                # what is pending itself; that saves the hand-off to the writer thread.
                batch = self._take()
            elif self._idle and not self._committing:
                self._idle = False
                self._wake.set()
        if durable:
            if lead:
                self._run_commit(batch)
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
            TimeoutError: ``fn`` did not start within ``timeout`` seconds (it then never runs).
            Exception: whatever ``fn`` raised.
        """
        with self._lock:
            if self._closed:
                raise BusClosedError("bus is closed")
            job = _Job(fn, self._seq)
            self._jobs.append(job)
            if self._idle and not self._committing:
                self._idle = False
                self._wake.set()
        if not job.done.wait(timeout):
            with self._lock:
                if job in self._jobs:  # not started: it must not run after its caller gave up
                    self._jobs.remove(job)
                    raise TimeoutError(f"journal maintenance did not start within {timeout}s")
            job.done.wait()  # started: the caller's work is under way on the writer; wait for its end
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

    def add_listener(
        self, fn: Callable[[list[Record]], None], *, first: bool = False, types: Collection[str] | None = None
    ) -> None:
        """Call ``fn(records)`` on the committing thread after each commit, before subscribers.

        For small synchronous views (such as the task index) that must never lag
        the journal, and for the timeline sender (added first, so an event leaves
        for clients as soon as it is committed; the bus counts a batch durable only
        once every listener ran, which is what requests wait for). ``first`` puts
        ``fn`` before the others.
        ``types``: call ``fn`` only for a batch holding an event of one of these types
        (it still gets the whole batch); a single event no view folds then costs the
        views nothing. ``fn`` must be fast and must not publish.
        """
        if isinstance(types, str):  # a str is a Collection[str] of its characters: never what was meant
            raise TypeError(f"types must be a collection of event types, not the string {types!r}")
        entry = (fn, None if types is None else frozenset(types))
        # A new list each time: a commit in progress iterates the old one.
        self._listeners = [entry, *self._listeners] if first else [*self._listeners, entry]

    def remove_listener(self, fn: Callable[[list[Record]], None]) -> None:
        """Stop calling ``fn`` (no-op if it is not a listener)."""
        self._listeners = [e for e in self._listeners if e[0] != fn]  # bound methods are equal, not identical

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._durable_cond:
            self._subs = [s for s in self._subs if s is not sub]

    # -- writer ----------------------------------------------------------------------------

    @property
    def _stopped(self) -> bool:
        return self._closed and not self._thread.is_alive()

    def _take(self) -> list[Envelope]:
        """The next batch to commit (call under ``_lock``; marks a commit as running)."""
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        self._committing = True
        return batch

    def _writer_loop(self) -> None:
        while True:
            batch: list[Envelope] | None = None
            jobs: list[_Job] = []
            with self._lock:
                if self._failure is not None:
                    break
                ready = [j for j in self._jobs if j.after <= self._durable] if not self._committing else []
                if ready:
                    # Maintenance runs once what was published before it is committed, ahead of
                    # what came after it: a steady stream of events cannot starve it.
                    jobs, self._jobs = ready, [j for j in self._jobs if j.after > self._durable]
                    self._committing = True
                elif self._pending and not self._committing:
                    batch = self._take()
                elif self._closed and not self._pending and not self._committing:
                    break
                else:
                    self._idle = True
                    self._wake.clear()
            if jobs:
                self._run_jobs(jobs)
            elif batch is None:
                self._wake.wait()
            else:
                self._run_commit(batch)
        with self._lock:
            leftover, self._jobs = self._jobs, []
        failure = self._failure
        for job in leftover:
            reason = f"journal writer failed: {failure}" if failure else "bus closed before the maintenance ran"
            job.fail(BusClosedError(reason))
        with self._durable_cond:
            self._durable_cond.notify_all()

    def _run_commit(self, batch: list[Envelope]) -> None:
        """Commit ``batch`` (on the writer, or on a durable publisher that leads), then hand over."""
        try:
            self._commit(batch)
        except Exception as exc:
            log.error("journal_write_failed", error=str(exc), events=len(batch))
            with self._lock:
                self._closed = True
                self._failure = exc
            with self._durable_cond:
                self._durable_cond.notify_all()
        with self._lock:
            self._committing = False
            if self._idle and (self._pending or self._jobs or self._closed):
                self._idle = False
                self._wake.set()

    def _run_jobs(self, jobs: list[_Job]) -> None:
        """Run maintenance on this (writer) thread; publishers queue meanwhile, none leads a commit."""
        for job in jobs:
            job.run(self.journal)
        with self._lock:
            self._committing = False

    def _encode_batch(self, batch: list[Envelope]) -> tuple[list[Envelope], list[bytes]]:
        """Encode (and mask) a batch; an event that cannot be encoded becomes an ``error`` event.

        Masking looks at the batch's bytes once (``MarkerScan``); only events holding
        a marker are walked, and only those the masker changed are encoded again,
        so a batch of token chunks costs nothing but the scan.
        """
        envs = batch
        try:
            raws = [_encode(env) for env in envs]
        except Exception:  # nested too deeply, or a value msgpack cannot hold: find which, one by one
            envs = list(batch)
            raws = [self._encode_one(i, envs) for i in range(len(envs))]
        mask = self._mask
        if mask is not None:
            hits = self._scan(raws)
            if hits:
                envs = list(envs)
                for i in hits:
                    raws[i] = self._encode_one(i, envs, mask, raws[i])
        return envs, raws

    def _encode_one(self, i: int, envs: list[Envelope], mask: Masker | None = None, raw: bytes = b"") -> bytes:
        """Envelope ``i`` encoded (masked first when ``mask`` is given; ``raw``, its encoding, kept if unchanged)."""
        env = envs[i]
        try:
            if mask is not None:
                masked = mask_envelope(env, mask)
                if masked is env and raw:
                    return raw
                env = masked
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
        types = [event_type(env.event) for env in envs]
        self.journal.append(
            [(env.seq, env.ts, kind, env.task_id, raw) for env, kind, raw in zip(envs, types, raws, strict=True)]
        )
        records = [Record(env.seq, raw, env, kind) for env, kind, raw in zip(envs, types, raws, strict=True)]
        kinds = set(types)
        for listener, wanted in self._listeners:
            if wanted is not None and wanted.isdisjoint(kinds):
                continue
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
