"""Journal operations: statistics, compaction (and the retention timer), backup, export, and the
scrub that makes a forget reach the journal.

Every write goes through ``Bus.exclusive`` (the journal keeps one writer) in
short steps, so events keep flowing while a compaction or a scrub runs. One
maintenance operation runs at a time. Each one that changes or copies the
journal is journaled (``journal.compacted``, ``journal.backed_up``,
``journal.exported``; a scrub's seqs go into ``memory.forgotten``).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import msgspec
import structlog

from greenroom.actors import TaskIndex
from greenroom.bus import Bus, JournalError
from greenroom.bus import protocol as p
from greenroom.bus.codec import decode_row
from greenroom.bus.events import JournalBackedUp, JournalCompacted, JournalExported, MemoryStored
from greenroom.bus.fold import FoldCount, fold_taskless, fold_tasks, release_space
from greenroom.bus.journal import Journal
from greenroom.bus.journal_admin import backup, chunk_counts, stats
from greenroom.bus.protocol import TERMINAL_STATUSES
from greenroom.bus.scrub import Scrubber, candidates, checkpoint, rewrite, rewrite_chunks
from greenroom.bus.settings import JournalConfig
from greenroom.runtime.errors import RequestError
from greenroom.runtime.logging import rewrite_log_files

log = structlog.get_logger(__name__)

T = TypeVar("T")
SOURCE = "journal"
FOLD_STEP = 20_000
"""Chunks folded per writer step (each step is one transaction; events queue meanwhile)."""
REWRITE_STEP = 500
MAX_EXPORT_PAGE = 5000
FIRST_COMPACTION_S = 60.0
"""The retention timer's first run comes this long after the start (start-up stays quick)."""
WAL_RETRY_S = (0.5, 30.0)
"""A WAL that readers kept from being truncated is tried again after this long, doubling up to the second."""


class JournalOps:
    """What clients (and the memory engine's forget) do to the journal.

    Args:
        bus: the bus (and through it the journal).
        tasks: the task index: which tasks are finished, and since when.
        config: the ``[journal]`` settings.
        log_dir: the daemon's log folder (scrubbed with the journal).
        clock: wall clock (tests move it).
    """

    def __init__(
        self, bus: Bus, tasks: TaskIndex, config: JournalConfig, log_dir: Path | None, clock: Callable[[], float]
    ) -> None:
        self.bus = bus
        self.journal: Journal = bus.journal
        self.tasks = tasks
        self.rewriters: list[Callable[[Callable[[str], str]], None]] = [tasks.rewrite]
        """What else holds journaled text in memory (task views, chats): each is given the scrubber."""
        self.config = config
        self.log_dir = log_dir
        self.clock = clock
        self.lock = threading.Lock()
        """Held by each maintenance operation (and by a reset): one at a time."""
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._wal_lock = threading.Lock()
        self._wal_retry: threading.Thread | None = None
        self._wal_dirty = False

    def _write(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(conn, *args)`` on the writer connection, between commits."""
        return self.bus.exclusive(lambda journal: journal.maintain(lambda conn: fn(conn, *args)))

    # -- stats ---------------------------------------------------------------------------

    def _due(self, older_than_days: float) -> list[str]:
        """Finished tasks whose last event is at least ``older_than_days`` old."""
        cutoff = self.clock() - older_than_days * 86400
        views = self.tasks.all()
        return [v.task_id for v in views if v.status in TERMINAL_STATUSES and v.updated <= cutoff]

    def stats(self) -> p.JournalStats:
        base = stats(self.journal)
        counts = chunk_counts(self.journal)
        due = self._due(self.config.fold_chunks_after_days)
        foldable = sum(counts.get(t, 0) for t in due)
        return msgspec.structs.replace(
            base, foldable_chunks=foldable, fold_chunks_after_days=self.config.fold_chunks_after_days
        )

    # -- compaction ----------------------------------------------------------------------

    def _files(self) -> int:
        path = self.journal.path
        return sum(f.stat().st_size for f in (path, path.with_name(path.name + "-wal")) if f.exists())

    def compact(self, older_than_days: float | None = None, client: str = "", quiet: bool = False) -> p.CompactReply:
        """Fold chunks of finished tasks older than ``older_than_days`` (default: the config's), free the space.

        Args:
            quiet: journal nothing when nothing was folded (the retention timer).
        """
        days = self.config.fold_chunks_after_days if older_than_days is None else older_than_days
        if not (math.isfinite(days) and days >= 0):
            raise RequestError("bad_request", f"older_than_days must be 0 or more, got {days}")
        with self.lock:
            started = time.perf_counter()
            before = self._files()
            due = self._due(days)
            counts = chunk_counts(self.journal)
            total = FoldCount()
            for batch in _batches([t for t in due if counts.get(t)], counts, FOLD_STEP):
                total.add(self._write(fold_tasks, batch))
            total.add(self._write(fold_taskless, self.clock() - days * 86400, self.bus.head))
            self._write(release_space)
            self.truncate_wal()
            after = self._files()
            seconds = round(time.perf_counter() - started, 3)
        folded = len([t for t in due if counts.get(t)])
        log.info("journal_compacted", tasks=folded, chunks=total.chunks, before=before, after=after, seconds=seconds)
        seq = 0
        if total.chunks or not quiet:
            event = JournalCompacted(
                older_than_days=days, tasks=folded, chunks=total.chunks, finished=total.finished,
                bytes_before=before, bytes_after=after, seconds=seconds, client=client,
            )  # fmt: skip
            seq = self.bus.publish(event, source=SOURCE, durable=True).seq
        return p.CompactReply(
            tasks=folded, chunks=total.chunks, finished=total.finished, bytes_before=before, bytes_after=after,
            seconds=seconds, seq=seq,
        )  # fmt: skip

    def start_retention(self) -> None:
        """Compact by the ``[journal]`` settings: soon after the start, then every ``compact_every_h``."""
        every = self.config.compact_every_h * 3600
        if every <= 0 or self._timer is not None:
            return

        def run() -> None:
            wait = min(FIRST_COMPACTION_S, every)
            while not self._stop.wait(wait):
                wait = every
                try:
                    self.compact(client="retention", quiet=True)
                except Exception as exc:  # a failed run is logged; the next one tries again
                    log.error("journal_compaction_failed", error=repr(exc))

        self._timer = threading.Thread(target=run, name="journal-retention", daemon=True)
        self._timer.start()

    def close(self) -> None:
        self._stop.set()
        for thread in (self._timer, self._wal_retry):
            if thread is not None:
                thread.join(timeout=30)

    # -- the WAL -------------------------------------------------------------------------

    def truncate_wal(self) -> bool:
        """Empty the WAL now if readers let it, else keep trying in the background until they do.

        Old copies of rewritten or deleted pages stay in the WAL until it is truncated:
        a scrub, a compaction and a reset end here. Returns whether it was emptied now.
        """
        if self._write(checkpoint):
            return True
        log.warning("wal_truncate_deferred", reason="a reader holds an old snapshot")
        with self._wal_lock:
            self._wal_dirty = True
            if self._wal_retry is None:
                self._wal_retry = threading.Thread(target=self._truncate_later, name="wal-truncate", daemon=True)
                self._wal_retry.start()
        return False

    def _truncate_later(self) -> None:
        wait, longest = WAL_RETRY_S
        while not self._stop.wait(wait):
            with self._wal_lock:
                self._wal_dirty = False  # this attempt covers every request made so far
            try:
                done = self._write(checkpoint)
            except Exception as exc:  # the bus closed, or the journal failed: nothing left to do
                log.error("wal_truncate_failed", error=repr(exc))
                done = False
                self._stop.wait(longest)
            with self._wal_lock:
                if done and not self._wal_dirty:
                    self._wal_retry = None
                    log.info("wal_truncated", deferred=True)
                    return
                self._wal_dirty = True
            wait = min(wait * 2, longest)
        with self._wal_lock:
            self._wal_retry = None

    # -- backup and export ---------------------------------------------------------------

    def backup(self, path: str, overwrite: bool = False, client: str = "") -> p.BackupReply:
        try:
            head, size, seconds = backup(self.journal, Path(path), overwrite)
        except JournalError as exc:
            raise RequestError("bad_request", str(exc)) from exc
        event = JournalBackedUp(path=path, head=head, bytes=size, seconds=round(seconds, 3), client=client)
        seq = self.bus.publish(event, source=SOURCE, durable=True).seq
        return p.BackupReply(path=path, head=head, bytes=size, seconds=round(seconds, 3), seq=seq)

    def export(self, req: p.JournalExport, client: str = "") -> p.Events:
        """One page of an export; the first page fixes its end and is journaled."""
        for name, value in (("since", req.since), ("until", req.until)):
            if value is not None and not math.isfinite(value):
                raise RequestError("bad_request", f"{name} must be a finite unix time")
        if req.task_id is not None and self.tasks.get(req.task_id) is None:
            raise RequestError("not_found", f"no task {req.task_id!r}")
        to_seq = req.to_seq
        if to_seq is None:
            to_seq = self.bus.head
            event = JournalExported(to_seq=to_seq, task_id=req.task_id, since=req.since, until=req.until, client=client)
            self.bus.publish(event, source=SOURCE, durable=True)  # journaled before the data leaves
        to_seq = max(0, min(to_seq, self.bus.head))
        limit = max(1, min(req.limit, MAX_EXPORT_PAGE))
        start = max(1, min(req.from_seq, to_seq + 1))
        rows = self.journal.read_rows(start, to_seq, task_id=req.task_id, since=req.since, until=req.until, limit=limit)
        events = [decode_row(row, self.journal.report_corrupt)[0] for row in rows]
        next_seq = events[-1].seq + 1 if len(events) == limit else max(start, to_seq + 1)
        return p.Events(events=events, head=to_seq, next_seq=next_seq)

    # -- forgetting ----------------------------------------------------------------------

    def _stored_texts(self, item_ids: Sequence[str]) -> list[str]:
        return _stored(self.journal, item_ids) if item_ids else []

    def scrub(self, texts: Sequence[str], item_ids: Sequence[str] = ()) -> list[int]:
        """Replace ``texts`` wherever the journal (and the daemon's logs, and the task views) hold them.

        The text each of ``item_ids``' ``memory.stored`` events holds is replaced too: it is
        the note as journaled, which secret masking may have made differ from memory's copy.

        Returns:
            the seqs of the events rewritten. Afterwards the WAL is checkpointed and
            truncated, so the old bytes are in no file (``truncate_wal``: at once, or
            as soon as a reader holding an older snapshot lets go).
        """
        scrubber = Scrubber([*texts, *self._stored_texts(item_ids)])
        if not scrubber:
            return []
        with self.lock:
            head = self.bus.flush()
            found = candidates(self.journal.reader(), scrubber, 1, head)
            changed: list[int] = []
            tasks: set[str] = set()
            finished: list[int] = []
            for i in range(0, len(found), REWRITE_STEP):
                done = self._write(rewrite, scrubber, found[i : i + REWRITE_STEP])
                changed += done.seqs
                tasks |= done.tasks
                finished += done.taskless_finished
            for task_id in sorted(tasks):
                changed += self._write(rewrite_chunks, scrubber, task_id)
            for seq in finished:
                changed += self._write(rewrite_chunks, scrubber, None, seq)
            changed += self._write(_finish_scrub, scrubber, head)
            self.truncate_wal()
        for rewrite_view in self.rewriters:
            rewrite_view(scrubber)
        if self.log_dir is not None:
            rewrite_log_files(self.log_dir, scrubber)
        log.info("journal_scrubbed", events=len(changed))  # ids only: never the text
        return sorted(set(changed))


def _stored(journal: Journal, item_ids: Sequence[str]) -> list[str]:
    """The texts of the ``memory.stored`` events of these items."""
    wanted = set(item_ids)
    out = []
    for item_id in wanted:
        sql = "SELECT seq, ts, type, task_id, body FROM events WHERE type = 'memory.stored' AND instr(body, ?) > 0"
        for row in journal.reader().execute(sql, [item_id.encode()]).fetchall():
            env, ok = decode_row(row)
            if ok and isinstance(env.event, MemoryStored) and env.event.item_id in wanted:
                out.append(env.event.text)
    return out


def _finish_scrub(conn: sqlite3.Connection, scrubber: Scrubber, head: int) -> list[int]:
    """Events committed while the scrub ran."""
    return rewrite(conn, scrubber, candidates(conn, scrubber, head + 1, None)).seqs


def _batches(task_ids: list[str], counts: dict[str, int], budget: int) -> list[list[str]]:
    """Tasks grouped so each group holds about ``budget`` chunks (a big task gets a group of its own)."""
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for task_id in task_ids:
        if current and size + counts[task_id] > budget:
            out.append(current)
            current, size = [], 0
        current.append(task_id)
        size += counts[task_id]
    if current:
        out.append(current)
    return out
