"""Journal lifecycle at 1M token chunks: compaction, backup and a forget's scrub, beside raw SQLite baselines.

A journal of finished tasks (each: 5 generations of 100 chunks) plus one open
task (waiting for an answer, 400 chunks) is built through the real bus. Then:

- compaction through ``JournalOps.compact`` (the daemon's code path: batched
  writer steps, incremental vacuum, checkpoint) — size before/after, seconds —
  beside a raw ``DELETE`` of the same chunks plus ``VACUUM`` on a copy;
- the open task's history, read as ``tail --from 0 --task`` reads it, is
  compared byte for byte before and after;
- an online backup (SQLite's backup API) beside a plain file copy;
- a forget's scrub of one note quoted in 50 events beside one raw ``instr`` scan.

    python -m bench.journal_lifecycle [chunks]      # default 1,000,000
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from greenroom.actors import TaskIndex
from greenroom.bus import Bus, Journal
from greenroom.bus import events as e
from greenroom.bus.journal_admin import backup
from greenroom.bus.settings import JournalConfig
from greenroom.runtime.journal_ops import JournalOps

NOTE = "the spare key for the boathouse hangs behind the tide chart"
GENERATIONS, PIECES = 5, 100


def build(bus: Bus, chunks: int) -> str:
    """Finished tasks with ``chunks`` chunks in all, 50 of them quoting NOTE; one open task. Returns its id."""
    tasks = chunks // (GENERATIONS * PIECES)
    for t in range(tasks):
        tid = f"t-{t:07d}"
        bus.publish(e.TaskSubmitted(goal=f"question {t}"), source="bench", task_id=tid)
        bus.publish(e.TaskStarted(), source="bench", task_id=tid)
        for g in range(GENERATIONS):
            rid = f"{tid}:step:{g}"
            for i in range(PIECES):
                bus.publish(e.LlmChunk(request_id=rid, text=f"tok{i} "), source="llm", task_id=tid)
            bus.publish(e.LlmFinished(request_id=rid, purpose="step", text="tok " * PIECES), source="llm", task_id=tid)
        answer = f"It says: {NOTE}" if t % max(1, tasks // 50) == 0 else "done"
        bus.publish(e.TaskFinished(answer=answer), source="bench", task_id=tid)
        if t % 200 == 0:
            bus.flush()
    open_id = "t-open"
    bus.publish(e.TaskSubmitted(goal="still waiting"), source="bench", task_id=open_id)
    bus.publish(e.TaskStarted(), source="bench", task_id=open_id)
    for g in range(4):
        for i in range(PIECES):
            bus.publish(e.LlmChunk(request_id=f"{open_id}:{g}", text=f"w{i} "), source="llm", task_id=open_id)
        bus.publish(
            e.LlmFinished(request_id=f"{open_id}:{g}", purpose="x", text="w " * PIECES), source="llm", task_id=open_id
        )
    bus.publish(e.ConfirmationAsked(confirmation_id="c-open", question="go on?"), source="bench", task_id=open_id)
    bus.flush()
    return open_id


def files(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def raw_compaction(path: Path, open_id: str) -> tuple[float, int]:
    """The least work that drops the same chunks: one DELETE and a VACUUM (no fold, no per-task steps)."""
    conn = sqlite3.connect(path, isolation_level=None)
    started = time.perf_counter()
    conn.execute("DELETE FROM events WHERE type = 'llm.chunk' AND task_id != ?", [open_id])
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, files(path)


def main(chunks: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="gr-bench-"))
    try:
        path = root / "journal.sqlite"
        journal = Journal(path)
        bus = Bus(journal)
        tasks = TaskIndex()
        bus.add_listener(tasks.apply)
        started = time.perf_counter()
        open_id = build(bus, chunks)
        built = time.perf_counter() - started
        ops = JournalOps(bus, tasks, JournalConfig(), None, time.time)
        bus.exclusive(lambda j: j.maintain(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()))
        total = journal.reader().execute("SELECT COUNT(*) FROM events").fetchone()[0]
        print(f"built {total:,} events ({chunks:,} chunks of finished tasks) in {built:.1f}s")

        shutil.copyfile(path, root / "copy.sqlite")
        t0 = time.perf_counter()
        shutil.copyfile(path, root / "plain-copy.sqlite")
        plain = time.perf_counter() - t0
        head, size, seconds = backup(journal, root / "backup.sqlite")
        mib = size / 2**20
        print(f"backup      {seconds:6.2f}s for {mib:7.1f} MiB (head #{head:,})   baseline file copy {plain:6.2f}s")

        t0 = time.perf_counter()
        found = (
            journal.reader().execute("SELECT COUNT(*) FROM events WHERE instr(body, ?)", [NOTE.encode()]).fetchone()[0]
        )
        scan = time.perf_counter() - t0
        t0 = time.perf_counter()
        rewritten = ops.scrub([NOTE])
        scrub = time.perf_counter() - t0
        n = len(rewritten)
        print(f"scrub       {scrub:6.2f}s rewrote {n} of {found} events   baseline one instr scan {scan:6.2f}s")

        before_open = journal.read(task_id=open_id)
        before = files(path)
        report = ops.compact(0)
        after_open = journal.read(task_id=open_id)
        print(
            f"compaction  {report.seconds:6.2f}s folded {report.chunks:,} chunks of {report.tasks:,} tasks: "
            f"{before / 2**20:7.1f} -> {report.bytes_after / 2**20:7.1f} MiB"
        )
        raw_seconds, raw_after = raw_compaction(root / "copy.sqlite", open_id)
        print(f"            baseline DELETE + VACUUM {raw_seconds:6.2f}s -> {raw_after / 2**20:7.1f} MiB")
        print(f"open task   {len(before_open)} events; replay unchanged byte for byte: {before_open == after_open}")
        bus.close()
        journal.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
