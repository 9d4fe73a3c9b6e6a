"""Scrubbing forgotten text out of journaled events, in place.

A forgotten memory item's text can sit in many events: its ``memory.stored``
event, a ``tool.result`` that recalled it, a ``confirmation.asked`` quoting the
call, the model's ``llm.chunk`` pieces and ``llm.finished`` text that repeated it,
a step's result, the task's answer. ``Scrubber`` finds the text in a string (as
written, or JSON-escaped as a tool or a question would quote it, or flattened to
one line as ``memory.used``, a prompt's memories and chat titles show it, or cut
short at the end of a string by an output limit) and puts ``MARKER`` in its place.
Rows are rewritten where they are: the seq, time, type and task never change;
only strings inside the event do (decoded, replaced, encoded again — never on
bytes). ``llm.chunk`` events are matched across piece boundaries, one request's
pieces read as one text.

A text shorter than ``MIN_QUOTE`` characters is replaced only where a whole
string equals it: a word that short is too common to cut out of everything.

Everything here runs on one ``sqlite3`` connection: candidate scans on a reader,
rewrites on the journal's writer (``Journal.maintain`` via ``Bus.exclusive``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence

import msgspec
from ahocorasick_rs import AhoCorasick, BytesAhoCorasick

from greenroom.bus.codec import decode_row, encode_envelope
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import LlmChunk, LlmFinished
from greenroom.bus.journal import Row
from greenroom.bus.masking import map_strings

MARKER = "[forgotten]"
MIN_QUOTE = 8
"""Shorter texts are replaced only where a whole string equals them."""
HEAD = 24
"""A quote cut short counts when at least this many leading characters (or the whole text) are there."""
_CUT_MARKS = ("…", "...", "\n[... truncated")
_FEW = 16
"""Up to this many forms each is searched for; beyond, one Aho-Corasick pass over each string finds them all."""


def _flat(text: str) -> str:
    """``text`` with each run of whitespace one space: how prompts, ``memory.used`` and previews show it."""
    return " ".join(text.split())


def _forms(text: str) -> set[str]:
    """``text`` as written and flattened (``_flat``), each also as JSON would quote it (with and
    without ``\\u`` escapes). A flattened form shorter than ``MIN_QUOTE`` is left out."""
    variants = {text} | ({_flat(text)} if len(_flat(text)) >= MIN_QUOTE else set())
    return {f for v in variants for f in (v, json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1])}


class Scrubber:
    """Replaces the given texts (and their quoted forms) inside strings.

    Args:
        texts: what to remove (a note, the chunks of a file); surrounding whitespace is ignored.
        marker: what stands in their place.
    """

    def __init__(self, texts: Iterable[str], marker: str = MARKER) -> None:
        self.marker = marker
        cleaned = {t.strip() for t in texts if t and t.strip()}
        self.whole = frozenset(w for t in cleaned if len(t) < MIN_QUOTE for w in (t, _flat(t)))
        forms = {f for t in cleaned if len(t) >= MIN_QUOTE for f in _forms(t)}
        self.forms = sorted(forms, key=len, reverse=True)
        self._by_head: dict[str, list[str]] = {}
        for form in self.forms:
            self._by_head.setdefault(form[:HEAD], []).append(form)
        self._heads = list(self._by_head)
        # many texts (a whole folder forgotten): one Aho-Corasick pass finds every head at once
        self._automaton = AhoCorasick(self._heads) if len(self.forms) > _FEW else None

    def __bool__(self) -> bool:
        return bool(self.whole or self.forms)

    def heads(self) -> list[bytes]:
        """Byte strings at least one of which every row holding a match contains (a cheap SQL prefilter)."""
        found = {f[:HEAD].encode() for f in self.forms} | {w.encode() for w in self.whole}
        return sorted(found)

    def spans(self, s: str) -> list[tuple[int, int]]:
        """Where ``s`` holds the texts: merged ``(start, end)`` ranges, in order."""
        found: list[tuple[int, int]] = []
        stripped = s.strip()
        if stripped in self.whole:
            start = s.index(stripped)
            found.append((start, start + len(stripped)))
        for start, form in self._starts(s):
            n = min(HEAD, len(form))
            while n < len(form) and start + n < len(s) and s[start + n] == form[n]:
                n += 1
            end = start + n
            # the whole text, or its leading part cut short at the end of s or at a truncation mark
            if n == len(form) or end == len(s) or s.startswith(_CUT_MARKS, end):
                found.append((start, end))
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def _starts(self, s: str) -> Iterator[tuple[int, str]]:
        """Positions where a form's head occurs in ``s``, with the form."""
        if self._automaton is None:
            for form in self.forms:
                head = form[:HEAD]
                start = s.find(head)
                while start >= 0:
                    yield start, form
                    start = s.find(head, start + 1)
            return
        for index, start, _end in self._automaton.find_matches_as_indexes(s, overlapping=True):
            for form in self._by_head[self._heads[index]]:
                yield start, form

    def __call__(self, s: str) -> str:
        spans = self.spans(s)
        if not spans:
            return s
        out, pos = [], 0
        for start, end in spans:
            out += [s[pos:start], self.marker]
            pos = end
        out.append(s[pos:])
        return "".join(out)

    def event(self, event: msgspec.Struct) -> msgspec.Struct:
        """``event`` with every free-text string scrubbed (the same object when nothing matched)."""
        return map_strings(event, self)  # type: ignore[no-any-return]

    def pieces(self, pieces: Sequence[str]) -> list[str]:
        """Scrub text streamed in pieces: a match may span pieces; the marker goes where it starts."""
        spans = self.spans("".join(pieces))
        if not spans:
            return list(pieces)
        out: list[str] = []
        pos = 0
        for piece in pieces:
            kept, lo = [], pos
            for start, end in spans:
                if end <= pos or start >= pos + len(piece):
                    continue
                kept.append(piece[lo - pos : max(start, pos) - pos])
                if start >= pos:
                    kept.append(self.marker)
                lo = min(end, pos + len(piece))
            kept.append(piece[lo - pos :])
            out.append("".join(kept))
            pos += len(piece)
        return out


# -- rewriting rows -------------------------------------------------------------------------

_ROW = "SELECT seq, ts, type, task_id, body FROM events"
_PREVIOUS_FINISH = (
    "SELECT seq FROM events WHERE seq < ? AND type = 'llm.finished' AND task_id IS NULL ORDER BY seq DESC LIMIT 1"
)


def candidates(conn: sqlite3.Connection, scrubber: Scrubber, from_seq: int, to_seq: int | None) -> list[int]:
    """Seqs of rows (other than ``llm.chunk``) whose bytes hold one of the scrubber's heads.

    A few heads are looked for by SQLite (``instr``); many (a folder's chunks) in one
    Aho-Corasick pass over each body here.
    """
    heads = scrubber.heads()
    if not heads:
        return []
    bound = "" if to_seq is None else f" AND seq <= {int(to_seq)}"
    if len(heads) <= _FEW:
        where = " OR ".join("instr(body, ?) > 0" for _ in heads)
        sql = f"SELECT seq FROM events WHERE seq >= ?{bound} AND type != 'llm.chunk' AND ({where}) ORDER BY seq"
        return [row[0] for row in conn.execute(sql, [from_seq, *heads])]
    automaton = BytesAhoCorasick(heads)
    cursor = conn.execute(f"SELECT seq, body FROM events WHERE seq >= ?{bound} AND type != 'llm.chunk'", [from_seq])
    return [seq for seq, body in cursor if automaton.find_matches_as_indexes(body)]


class Rewritten(msgspec.Struct, kw_only=True):
    """What a rewrite changed: seqs, and where ``llm.chunk`` pieces may need a look."""

    seqs: list[int] = []
    tasks: set[str] = set()
    """Tasks with a scrubbed event: their chunk runs are scanned too."""
    taskless_finished: list[int] = []
    """Scrubbed ``llm.finished`` events outside any task (their chunks precede them)."""


def rewrite(conn: sqlite3.Connection, scrubber: Scrubber, seqs: Sequence[int]) -> Rewritten:
    """Scrub the rows ``seqs`` in one transaction.

    A corrupt row (its bytes hold a match but do not decode) gets the ``error``
    placeholder that readers see for it anyway as its new body.
    """
    done = Rewritten()
    if not seqs:
        return done
    conn.execute("BEGIN IMMEDIATE")
    for seq in seqs:
        row = conn.execute(f"{_ROW} WHERE seq = ?", [seq]).fetchone()
        if row is None:
            continue
        env, ok = decode_row(row)
        if ok:
            event = scrubber.event(env.event)
            if event is env.event:
                continue
            new = msgspec.structs.replace(env, event=event)
        else:  # undecodable bytes that hold the text: the placeholder readers already see takes their place
            new = env
        conn.execute("UPDATE events SET body = ? WHERE seq = ?", [encode_envelope(new), seq])
        done.seqs.append(seq)
        if env.task_id is not None:
            done.tasks.add(env.task_id)
        elif isinstance(env.event, LlmFinished):
            done.taskless_finished.append(seq)
    conn.execute("COMMIT")
    return done


def _chunk_rows(conn: sqlite3.Connection, task_id: str | None, finished_seq: int | None) -> list[Row]:
    """``llm.chunk`` rows of a task, or those of the task-less request that ended at ``finished_seq``."""
    if task_id is not None:
        return conn.execute(f"{_ROW} WHERE task_id = ? AND type = 'llm.chunk' ORDER BY seq", [task_id]).fetchall()
    prev = conn.execute(_PREVIOUS_FINISH, [finished_seq]).fetchone()
    sql = f"{_ROW} WHERE seq > ? AND seq < ? AND type = 'llm.chunk' AND task_id IS NULL ORDER BY seq"
    return conn.execute(sql, [prev[0] if prev else 0, finished_seq]).fetchall()


def rewrite_chunks(
    conn: sqlite3.Connection, scrubber: Scrubber, task_id: str | None, finished_seq: int | None = None
) -> list[int]:
    """Scrub the ``llm.chunk`` pieces of a task (or of one task-less request), matching across pieces."""
    runs: dict[str, list[Envelope]] = {}
    for row in _chunk_rows(conn, task_id, finished_seq):
        env, ok = decode_row(row)
        if ok and isinstance(env.event, LlmChunk):
            runs.setdefault(env.event.request_id, []).append(env)
    changed: list[int] = []
    conn.execute("BEGIN IMMEDIATE")
    for run in runs.values():
        chunks = [env.event for env in run if isinstance(env.event, LlmChunk)]
        for env, chunk, text in zip(run, chunks, scrubber.pieces([c.text for c in chunks]), strict=True):
            if text != chunk.text:
                new = msgspec.structs.replace(env, event=msgspec.structs.replace(chunk, text=text))
                conn.execute("UPDATE events SET body = ? WHERE seq = ?", [encode_envelope(new), new.seq])
                changed.append(new.seq)
    conn.execute("COMMIT")
    return changed


def checkpoint(conn: sqlite3.Connection, wait_ms: int = 100, attempts: int = 3) -> bool:
    """Copy the WAL into the database and truncate it to nothing; False if readers kept it busy.

    It runs on the writer, so it waits for readers briefly (``wait_ms`` each attempt,
    not the connection's busy timeout: a reader holding a snapshot would otherwise
    hold every commit for seconds per attempt). A False is retried later, off the
    writer (``JournalOps.truncate_wal``).
    """
    (saved,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
    try:
        for attempt in range(attempts):
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return True
            if attempt + 1 < attempts:
                time.sleep(0.02)  # a reader finishing its page
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(saved)}")
