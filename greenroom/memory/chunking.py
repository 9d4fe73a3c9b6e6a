"""Token-aware chunking that keeps paragraphs, headings and code blocks whole.

A document is cut into *units* — headings, paragraphs, fenced code blocks, or
for source code the blank-line-separated blocks — each a span of the original
text. Units longer than a chunk are split at lines (code) or sentences (prose),
and as a last resort at words. Units are then packed greedily into chunks of at
most ``chunk_tokens`` tokens; a new chunk repeats the previous chunk's last
units, up to ``overlap`` tokens, and a heading starts a new chunk (without
overlap) once the current one is a quarter full. A chunk's text is a slice of
the original, so its ``start``/``end`` offsets point back into the source.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "markdown", "code"]
TokenCounter = Callable[[Sequence[str]], list[int]]

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")
_WORD = re.compile(r"\S+\s*")


def content_hash(text: str) -> str:
    """The hash that identifies a text (embedding cache key, duplicate detection)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def approximate_tokens(texts: Sequence[str]) -> list[int]:
    """A tokenizer-free estimate (words and punctuation), for use without a model."""
    return [len(re.findall(r"\w+|[^\w\s]", t)) for t in texts]


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int
    end: int
    heading: str
    """The heading path in force where the chunk starts (``Install > Linux``), or ``""``."""
    tokens: int


@dataclass
class _Unit:
    start: int
    end: int
    heading: str
    starts_section: bool
    tokens: int = 0


def _blocks(text: str, kind: Kind) -> list[_Unit]:
    """Paragraph-level spans: blank-line separated, fenced code kept whole, headings apart."""
    units: list[_Unit] = []
    levels: list[tuple[int, str]] = []
    pos = 0
    block_start: int | None = None
    in_fence = False

    def heading() -> str:
        return " > ".join(title for _, title in levels)

    def close(end: int) -> None:
        nonlocal block_start
        if block_start is not None and text[block_start:end].strip():
            units.append(_Unit(block_start, end, heading(), False))
        block_start = None

    for line in text.splitlines(keepends=True):
        end = pos + len(line)
        stripped = line.strip()
        if kind == "markdown" and _FENCE.match(line):
            if not in_fence:
                close(pos)
                block_start = pos
            in_fence = not in_fence
            if not in_fence:
                close(end)
        elif in_fence:
            pass
        elif kind == "markdown" and (m := _HEADING.match(line)):
            close(pos)
            level = len(m.group(1))
            while levels and levels[-1][0] >= level:
                levels.pop()
            levels.append((level, m.group(2)))
            units.append(_Unit(pos, end, heading(), True))
        elif not stripped:
            close(pos)
        elif block_start is None:
            block_start = pos
        pos = end
    close(pos)
    return units


def _split(text: str, unit: _Unit, kind: Kind) -> list[_Unit]:
    """Split one span at lines (code) or sentences (prose)."""
    body = text[unit.start : unit.end]
    code = kind == "code" or body.lstrip().startswith(("```", "~~~"))
    if code:
        pieces = body.splitlines(keepends=True)
    else:
        pieces, last = [], 0
        for m in _SENTENCE_END.finditer(body):
            pieces.append(body[last : m.end()])
            last = m.end()
        pieces.append(body[last:])
    out: list[_Unit] = []
    offset = unit.start
    for piece in pieces:
        if piece:
            out.append(_Unit(offset, offset + len(piece), unit.heading, unit.starts_section and not out))
        offset += len(piece)
    return out


def _split_words(text: str, unit: _Unit, limit: int, count: TokenCounter) -> list[_Unit]:
    """Last resort: windows of words that fit ``limit`` tokens."""
    words = [(unit.start + m.start(), unit.start + m.end()) for m in _WORD.finditer(text[unit.start : unit.end])]
    counts = count([text[a:b] for a, b in words])
    out: list[_Unit] = []
    start, total = words[0][0], 0
    for (a, _), n in zip(words, counts, strict=True):
        if total + n > limit and total:
            out.append(_Unit(start, a, unit.heading, unit.starts_section and not out, total))
            start, total = a, 0
        total += n
    out.append(_Unit(start, words[-1][1], unit.heading, unit.starts_section and not out, total))
    return out


def chunk_text(
    text: str,
    kind: Kind = "text",
    *,
    chunk_tokens: int = 200,
    overlap: int = 40,
    count_tokens: TokenCounter = approximate_tokens,
) -> list[Chunk]:
    """Cut ``text`` into chunks of at most ``chunk_tokens`` tokens (see the module docstring).

    Raises:
        ValueError: ``text`` is empty or only whitespace.
    """
    if not text.strip():
        raise ValueError("cannot chunk empty text")
    units = _blocks(text, "markdown" if kind == "markdown" else "text")
    if kind == "code":
        units = [u for b in units for u in ([b] if b.end - b.start < chunk_tokens * 3 else _split(text, b, kind))]

    def measure(units: list[_Unit]) -> list[_Unit]:
        for u, n in zip(units, count_tokens([text[u.start : u.end] for u in units]), strict=True):
            u.tokens = n
        return units

    measure(units)
    units = measure([u for b in units for u in ([b] if b.tokens <= chunk_tokens else _split(text, b, kind))])
    units = [
        u
        for b in units
        for u in ([b] if b.tokens <= chunk_tokens else _split_words(text, b, chunk_tokens, count_tokens))
    ]

    chunks: list[Chunk] = []
    current: list[_Unit] = []

    def flush() -> None:
        if current:
            start, end = current[0].start, current[-1].end
            chunks.append(Chunk(text[start:end], start, end, current[0].heading, sum(u.tokens for u in current)))

    for unit in units:
        size = sum(u.tokens for u in current)
        section_break = unit.starts_section and size >= chunk_tokens // 4
        if current and (section_break or size + unit.tokens > chunk_tokens):
            flush()
            carry: list[_Unit] = []
            if not section_break:
                for prev in reversed(current):
                    if sum(u.tokens for u in carry) + prev.tokens > overlap or prev.starts_section:
                        break
                    carry.insert(0, prev)
                while carry and sum(u.tokens for u in carry) + unit.tokens > chunk_tokens:
                    carry.pop(0)
            current = carry
        current.append(unit)
    flush()
    return chunks
