"""Folding token chunks into the ``llm.finished`` event of their generation (journal compaction).

A generation journals one ``llm.chunk`` per token and then one ``llm.finished``
holding the whole text; once its task is over, the chunks only repeat that
text. Folding deletes them and counts them in the finished event's ``folded``
field. Nothing else changes: every other event keeps its seq and bytes, so a
replay of a folded range simply has no rows where the chunks were (a hole in the
numbering that ``llm.finished.folded`` accounts for).

A generation's chunks are those of its request id since the previous boundary:
that request's previous ``llm.finished``, or a ``task.started``/``task.parked``
(a resumed task starts its generations over). Chunks that never reached an
``llm.finished`` (a generation interrupted by a cancel or a crash) are kept:
they are the only record of what was said.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import msgspec

from greenroom.bus.codec import decode_row, encode_envelope
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import DaemonStarted, LlmChunk, LlmFinished, TaskParked, TaskStarted
from greenroom.bus.journal import Row

_COLUMNS = "SELECT seq, ts, type, task_id, body FROM events"
_TYPES = "('llm.chunk', 'llm.finished', 'task.started', 'task.parked')"


class FoldCount(msgspec.Struct, kw_only=True):
    """What a fold did."""

    chunks: int = 0
    """``llm.chunk`` rows deleted."""
    finished: int = 0
    """``llm.finished`` rows that took them in."""

    def add(self, other: FoldCount) -> None:
        self.chunks += other.chunks
        self.finished += other.finished


def _fold_rows(conn: sqlite3.Connection, rows: Sequence[Row]) -> FoldCount:
    """Fold within ``rows`` (one task's, or the task-less ones, in seq order)."""
    count = FoldCount()
    pending: dict[str, list[int]] = {}
    for row in rows:
        env, ok = decode_row(row)
        if not ok:
            continue
        match env.event:
            case LlmChunk(request_id=rid):
                pending.setdefault(rid, []).append(env.seq)
            case LlmFinished(request_id=rid) as finished:
                seqs = pending.pop(rid, [])
                if seqs:
                    _absorb(conn, env, finished, seqs)
                    count.chunks += len(seqs)
                    count.finished += 1
            case TaskStarted() | TaskParked() | DaemonStarted():
                pending.clear()  # chunks before a restart belong to an interrupted generation: kept
            case _:
                pass
    return count


def _absorb(conn: sqlite3.Connection, env: Envelope, finished: LlmFinished, seqs: list[int]) -> None:
    folded = msgspec.structs.replace(finished, folded=finished.folded + len(seqs))
    body = encode_envelope(msgspec.structs.replace(env, event=folded))
    conn.execute("UPDATE events SET body = ? WHERE seq = ?", [body, env.seq])
    conn.executemany("DELETE FROM events WHERE seq = ?", [(s,) for s in seqs])


def fold_tasks(conn: sqlite3.Connection, task_ids: Sequence[str]) -> FoldCount:
    """Fold the chunks of these (finished) tasks, in one transaction."""
    count = FoldCount()
    conn.execute("BEGIN IMMEDIATE")
    for task_id in task_ids:
        rows = conn.execute(f"{_COLUMNS} WHERE task_id = ? AND type IN {_TYPES} ORDER BY seq", [task_id]).fetchall()
        count.add(_fold_rows(conn, rows))
    conn.execute("COMMIT")
    return count


def fold_taskless(conn: sqlite3.Connection, before_ts: float, upto_seq: int) -> FoldCount:
    """Fold chunks of generations outside any task (the ``generate`` request) that ended before ``before_ts``.

    A daemon start is a boundary too: chunks before it whose generation never finished are kept.
    """
    sql = (
        f"{_COLUMNS} WHERE task_id IS NULL AND seq <= ? AND type IN ('llm.chunk', 'llm.finished', 'daemon.started')"
        " ORDER BY seq"
    )
    rows = [r for r in conn.execute(sql, [upto_seq]).fetchall() if r[2] != "llm.finished" or r[1] < before_ts]
    conn.execute("BEGIN IMMEDIATE")
    count = _fold_rows(conn, rows)
    conn.execute("COMMIT")
    return count


def release_space(conn: sqlite3.Connection) -> None:
    """Give freed pages back to the file system (``auto_vacuum=INCREMENTAL``)."""
    # executescript steps the pragma to its end; execute would free one page per call.
    conn.executescript("PRAGMA incremental_vacuum;")
