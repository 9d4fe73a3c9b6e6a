"""Which tools a goal needs, without asking the model: the plan for small models.

A 135M model cannot tell "what is the capital of France?" (answer it) from
"what time is it?" (call the clock): asked to choose, it makes up a time. The
embedding model can: a goal is compared (cosine, MiniLM by default) with each
tool's description and its example requests (``ToolSpec.examples``), and a tool
whose best match reaches ``threshold`` is one the goal needs. On the examples
and goals we measured, requests that need no tool score at most ~0.37 against
every tool and requests that do score 0.43 to 1.0 against theirs; the default
threshold sits between (``agent.tool_match``).

A goal of several clauses ("read today.md and write a summary to summary.md")
is split at "and" / "then" before a verb, and each clause is matched on its
own: one step per clause, each with its tool. A URL in a clause means fetching it; a
clause that is all arithmetic ("what is 12 times 7?") means the calculator. A built-in
tool is matched only where the clause also has its shape (``routing_shapes``): the clock
for a clause about the present, the file tools for one that names a file or folder, a
recall for the person's own things; "how many days are in a week?" is about time and
needs no clock. A question what something is ("What is Python?") needs no tool.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from greenroom.tools.arithmetic_words import expression_in
from greenroom.tools.reminders import REMINDERS_TOOL_NAME, reminder_in
from greenroom.tools.routing_shapes import asks_what_it_is, has_shape
from greenroom.tools.spec import ToolSpec
from greenroom.tools.units import UNITS_TOOL_NAME, conversion_in

if TYPE_CHECKING:
    from numpy.typing import NDArray

DEFAULT_THRESHOLD = 0.42
CALCULATE = "math.calculate"
"""Matched by shape only: a clause that is all arithmetic needs it ("what is 12 times 7"); by
meaning, "how much is a flight to Paris" is close to a calculator too, and is no sum."""
SHAPE_ONLY = (CALCULATE, UNITS_TOOL_NAME, REMINDERS_TOOL_NAME)
"""Tools matched by their clause's shape alone (a sum, a conversion, a reminder), never by meaning."""
URL_RE = re.compile(r"\bhttps?://\S+", re.IGNORECASE)
PATH_RE = re.compile(
    r"(?<![\w.-])(?:~|\.{1,2})?/?(?:[\w.-]+/)+[\w.-]+|(?<![\w-])[\w-]+\.(?:md|txt|csv|json|toml|ya?ml|py|log|html|pdf)\b"
)
"""A path, or a file name with a known extension. Each starts where a run of name characters starts
(the lookbehinds): tried at every position inside a long run, the pattern took quadratic time."""
_VERBS = (
    r"write|save|create|make|read|open|list|fetch|download|search|find|look|remember|recall|note|"
    r"summari[sz]e|send|put|check|add|delete|remove|append|update"
)
NAME_BONUS = 0.15
"""Added when a clause says the tool's own name ("list", "remember", "fetch"): embeddings match
topics better than intents, and the verb is the intent."""
_WORDS = re.compile(r"[a-z]+")
_BACK_REFERENCE = re.compile(r"\b(?:it|this|that|them|these|those)\s*$", re.IGNORECASE)
CUE_SCORE = 0.9
CUE_WORDS = 5
_CLAUSES = re.compile(rf"(?:,?\s+(?:and then|then|and)\s+|;\s*|\.\s+)(?=(?:{_VERBS})\b)", re.IGNORECASE)


class Embedding(Protocol):
    """What the router needs from an embedding model (``memory.Embedder`` is one)."""

    def embed(self, texts: Sequence[str]) -> NDArray[Any]: ...


@dataclass(frozen=True)
class Match:
    """One clause of a goal and the tool it needs (``tool`` empty: none needed)."""

    clause: str
    tool: str
    score: float


class ToolRouter:
    """Matches goals against tools' descriptions and example requests.

    Args:
        embedder: turns texts into unit vectors (loads lazily; a load failure raises).
        threshold: the cosine a tool's best text must reach for a clause to need it.
    """

    def __init__(self, embedder: Embedding, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self._texts: dict[str, tuple[tuple[str, ...], Any]] = {}
        self._lock = threading.Lock()

    def _vectors(self, tools: Sequence[ToolSpec]) -> list[tuple[str, Any]]:
        """Each tool's text vectors, embedded once (again only when its texts change)."""
        out = []
        stale: list[tuple[ToolSpec, tuple[str, ...]]] = []
        with self._lock:
            for tool in tools:
                texts = (tool.description, *tool.examples)
                cached = self._texts.get(tool.name)
                if cached is None or cached[0] != texts:
                    stale.append((tool, texts))
        if stale:
            flat = [t for _, texts in stale for t in texts]
            vectors = self.embedder.embed(flat)
            with self._lock:
                at = 0
                for tool, texts in stale:
                    self._texts[tool.name] = (texts, vectors[at : at + len(texts)])
                    at += len(texts)
        with self._lock:
            for tool in tools:
                out.append((tool.name, self._texts[tool.name][1]))
        return out

    def scores(self, text: str, tools: Iterable[ToolSpec]) -> list[tuple[str, float]]:
        """Every tool's best cosine against ``text``, best first."""
        listed = list(tools)
        if not listed:
            return []
        said = plain(text).lower()
        query = self.embedder.embed([said])[0]
        words = set(_WORDS.findall(said))
        ranked = []
        for tool, (name, vectors) in zip(listed, self._vectors(listed), strict=True):
            score = float((vectors @ query).max()) + (NAME_BONUS if name_words(name) & words else 0.0)
            if any(cue in said for cue in cues(tool)):
                score = max(score, CUE_SCORE)
            ranked.append((name, score))
        return sorted(ranked, key=lambda pair: -pair[1])

    def route(self, goal: str, tools: Iterable[ToolSpec]) -> list[Match]:
        """The goal's clauses with the tool each needs; an empty list when no clause needs one."""
        listed = [t for t in tools]
        names = {t.name for t in listed}
        if REMINDERS_TOOL_NAME in names and reminder_in(goal):  # "remind me to pack and leave": one job
            return [Match(goal, REMINDERS_TOOL_NAME, 1.0)]
        clauses = split_clauses(goal)
        matches = [self._match(clause, listed, names) for clause in clauses]
        if len(clauses) > 1 and sum(bool(m.tool) for m in matches) < 2:
            matches = [self._match(goal, listed, names)]  # the parts are not separate tool jobs
        return matches if any(m.tool for m in matches) else []

    def _match(self, clause: str, tools: list[ToolSpec], names: set[str]) -> Match:
        if URL_RE.search(clause) and "web.fetch" in names:
            return Match(clause, "web.fetch", 1.0)
        if CALCULATE in names and expression_in(clause):
            return Match(clause, CALCULATE, 1.0)
        if UNITS_TOOL_NAME in names and conversion_in(clause):
            return Match(clause, UNITS_TOOL_NAME, 1.0)
        said = plain(clause)
        if asks_what_it_is(said):
            return Match(clause, "", 0.0)
        ranked = self.scores(clause, [t for t in tools if t.name not in SHAPE_ONLY])
        ranked = [(n, sc) for n, sc in ranked if has_shape(n, said)]
        name, score = ranked[0] if ranked else ("", 0.0)
        return Match(clause, name if score >= self.threshold else "", round(score, 3))


def cues(tool: ToolSpec) -> list[str]:
    """A tool's short examples: phrases that, said in a request, mean it needs the tool."""
    return [e.lower() for e in tool.examples if len(e.split()) <= CUE_WORDS]


def name_words(name: str) -> set[str]:
    """The words of a tool's own name that say what it does (``fs.list`` -> list, ``memory.recall`` -> recall)."""
    last = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name.rsplit(".", 1)[-1]).lower()
    return {w for w in re.split(r"[^a-z]+", last) if len(w) >= 4 and w not in {"exec", "current", "with"}}


def plain(text: str) -> str:
    """``text`` with URLs and file paths replaced by what they are: their words mislead
    (``today.md`` is not about the date)."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return PATH_RE.sub("the file", URL_RE.sub("the web page", text))


def split_clauses(goal: str) -> list[str]:
    """``goal`` split where a new instruction starts ("and write…", "then list…")."""
    parts = [p.strip(" ,.;") for p in _CLAUSES.split(goal.strip())]
    if len(parts) > 1 and any(len(p.split()) < 2 or _BACK_REFERENCE.search(p) for p in parts[1:]):
        return [goal.strip()]  # "fetch the page and summarise it": one job on one thing
    return [p for p in parts if p] or [goal.strip()]


__all__ = ["DEFAULT_THRESHOLD", "Match", "ToolRouter", "split_clauses"]
