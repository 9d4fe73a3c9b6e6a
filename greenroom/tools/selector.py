"""The tool context builder: for a step's intent, the few tools its prompt should carry.

Every available tool (built-in, plugin, MCP) is ranked against the intent two
ways — by meaning (the memory package's embedding model, cosine similarity
with the tool's name and description) and by keywords (BM25 over the name,
description and arguments) — and the two are fused (``memory/fusion.py``).
Where a reranker is loaded, the best fused candidates are rescored by it. The
top ``n`` are kept, always including the tools the plan named for the step.

Fusion is by normalised scores (``score``, half and half), not memory's
default reciprocal ranks: on ``bench/tool_retrieval.py`` (500 tools, 252
queries) it reaches recall@5 0.912 against RRF's 0.872 with the same two
rankings. Tool documents are short, so a strong keyword hit (a product name)
is a real signal whose size RRF throws away. Arguments help BM25 but blur the
embedding (recall@5 of embeddings alone 0.873 with them, 0.885 without), so
only the keyword side indexes them. Function words are dropped from the BM25
query, so that a match on "its" alone cannot top the normalised keyword scores.

Tool descriptions are embedded once: vectors are cached by a hash of the
model and the tool's indexed text, in memory and (given a path) in SQLite, so
a tool is re-embedded only when its name, description or arguments change.

BM25 runs on an in-RAM tantivy index (the same ``en_stem`` tokenizer as
memory's keyword index), rebuilt whenever the tool set changes. For a few
hundred short documents that costs about a millisecond to rebuild and well
under one per query (``bench/tool_retrieval.py`` prints both), so there is no
case for a persistent index or a hand-written BM25.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import structlog

from greenroom.bus.events import SelectedTool, ToolsSelected
from greenroom.memory.fusion import fuse
from greenroom.tools.spec import ToolSpec

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from greenroom.memory.embeddings import Embedder
    from greenroom.memory.reranker import Reranker

log = structlog.get_logger(__name__)

Mode = Literal["bm25", "dense", "fused", "rerank"]
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[._\-/]+")
_MAX_ARG_DESCRIPTION = 80
_WORD = re.compile(r"\w+")
# Function words carry no signal for finding a tool, and a query matching only one of them
# ("its" in a description) would otherwise get the best normalised BM25 score.
_STOP = frozenset(
    _WORD.findall(
        "a about above after again all am an and any are as at be been before being below between both but by can "
        "could did do does doing down during each few for from further had has have having he her here hers him "
        "his how i if in into is it its itself just me more most my myself no nor not now of off on once only or "
        "other our ours out over own same she should so some such than that the their theirs them then there these "
        "they this those through to too under until up very was we were what when where which while who whom why "
        "will with would you your yours please"
    )
)


def _words(identifier: str) -> str:
    return " ".join(_SPLIT.split(_CAMEL.sub(" ", identifier))).strip()


def tool_summary(tool: ToolSpec) -> str:
    """What the embedding model sees of a tool: its name as words and its description.

    ``mcp.git.git_log`` becomes ``git git log``, ``readFile`` becomes ``read File``: both
    BM25 and the embedding model match words, not identifiers.
    """
    name = tool.name[4:] if tool.name.startswith("mcp.") else tool.name
    return f"{_words(name)}: {tool.description}"


def tool_document(tool: ToolSpec) -> str:
    """What BM25 (and the reranker) see of a tool: the summary plus its arguments."""
    props = tool.schema().get("properties") or {}
    args = []
    for arg, spec in list(props.items())[:12] if isinstance(props, dict) else []:
        text = _words(str(arg))
        desc = spec.get("description") if isinstance(spec, dict) else None
        if isinstance(desc, str) and desc:
            text += f" ({desc[:_MAX_ARG_DESCRIPTION]})"
        args.append(text)
    doc = tool_summary(tool)
    return doc + (f" Arguments: {', '.join(args)}." if args else "")


class VectorCache:
    """Embeddings of tool documents, by content hash; in memory, and in SQLite when given a path."""

    def __init__(self, path: Path | None = None) -> None:
        self._mem: dict[str, NDArray[np.float32]] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS tool_vectors (key TEXT PRIMARY KEY, vector BLOB)")

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, NDArray[np.float32]]:
        import numpy as np

        with self._lock:
            found = {k: self._mem[k] for k in keys if k in self._mem}
            missing = [k for k in keys if k not in found]
            if self._db is not None and missing:
                marks = ",".join("?" * len(missing))
                query = f"SELECT key, vector FROM tool_vectors WHERE key IN ({marks})"
                for key, blob in self._db.execute(query, missing):
                    found[key] = self._mem[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, NDArray[np.float32]]) -> None:
        import numpy as np

        with self._lock:
            self._mem.update(items)
            if self._db is not None and items:
                rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
                self._db.executemany("INSERT OR REPLACE INTO tool_vectors VALUES (?, ?)", rows)
                self._db.commit()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


@dataclass
class _Index:
    """Everything needed to rank one set of tools (rebuilt when the set changes)."""

    signature: tuple[tuple[str, str, str], ...]
    tools: list[ToolSpec]
    docs: list[str]
    """Keyword documents (BM25, the reranker)."""
    vectors: NDArray[np.float32]
    bm25: Any


@dataclass(frozen=True)
class Selection:
    """The tools chosen for a step, best first, and why."""

    intent: str
    tools: list[ToolSpec]
    scores: list[SelectedTool]
    candidates: int = 0
    reranked: bool = False
    missing: list[str] = field(default_factory=list)
    """Tools the plan named that do not exist (left out)."""

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tools]

    def event(self, step: int) -> ToolsSelected:
        """The ``tools.selected`` event for step ``step``."""
        return ToolsSelected(
            step=step, intent=self.intent, tools=list(self.scores), candidates=self.candidates, reranked=self.reranked
        )


class ToolSelector:
    """Ranks tools against a step's intent and picks the few its prompt carries.

    Args:
        embedder: the memory package's embedding model (loads lazily).
        reranker: rescores the best fused candidates; used when ``rerank`` allows.
        rerank: ``None`` (default): only when the reranker is already loaded (a search
            in memory loaded it), so selection never waits for a model load; True: always.
        top_n: tools per step (``tools.context_tools``).
        candidates: how deep each ranking goes before fusion, and how many the reranker sees.
        cache_path: an SQLite file for the vector cache (None: memory only).
        fusion, dense_weight: how the two rankings are combined (see the module docstring).
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        reranker: Reranker | None = None,
        rerank: bool | None = None,
        top_n: int = 8,
        candidates: int = 20,
        cache_path: Path | None = None,
        fusion: Literal["rrf", "score"] = "score",
        dense_weight: float = 0.5,
    ) -> None:
        self.embedder = embedder
        self.reranker = reranker
        self.rerank = rerank
        self.top_n = top_n
        self.candidates = candidates
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.cache = VectorCache(cache_path)
        self._index: _Index | None = None
        self._lock = threading.Lock()
        self.embedded = 0
        """Tool documents embedded so far (the cache's misses)."""

    # -- the index -------------------------------------------------------------------------

    def _build(self, tools: list[ToolSpec]) -> _Index:
        import numpy as np

        docs = [tool_document(t) for t in tools]
        summaries = [tool_summary(t) for t in tools]
        signature = tuple((t.name, d, s) for t, d, s in zip(tools, docs, summaries, strict=True))
        with self._lock:
            if self._index is not None and self._index.signature == signature:
                return self._index
        model = self.embedder.model_name
        keys = [VectorCache.key(model, s) for s in summaries]
        found = self.cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            fresh = self.embedder.embed([summaries[i] for i in missing])
            self.cache.put_many({keys[i]: fresh[j] for j, i in enumerate(missing)})
            found.update({keys[i]: fresh[j] for j, i in enumerate(missing)})
            self.embedded += len(missing)
            log.info("tool_descriptions_embedded", count=len(missing), total=len(tools))
        dim = next(iter(found.values())).shape[0] if found else 1
        vectors = np.stack([found[k] for k in keys]) if keys else np.zeros((0, dim), dtype=np.float32)
        index = _Index(signature, tools, docs, vectors, _bm25_index(docs))
        with self._lock:
            self._index = index
        return index

    def warm(self, tools: Iterable[ToolSpec]) -> int:
        """Embed (or load from the cache) every tool's document now; returns how many were embedded."""
        before = self.embedded
        self._build(list(tools))
        return self.embedded - before

    # -- ranking ---------------------------------------------------------------------------

    def rank(self, query: str, tools: Iterable[ToolSpec], mode: Mode = "fused", k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` best tools for ``query`` by one method (the benchmark compares them)."""
        index = self._build(list(tools))
        ranked, _, _ = self._ranked(index, query, mode)
        return [(index.tools[i].name, s) for i, s in ranked[:k]]

    def _ranked(
        self, index: _Index, query: str, mode: Mode
    ) -> tuple[list[tuple[int, float]], dict[str, dict[int, float]], bool]:
        """Best-first ``(tool index, score)`` and the per-stage scores."""
        import numpy as np

        depth = max(self.candidates, self.top_n)
        stages: dict[str, dict[int, float]] = {}
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        if mode != "bm25" and len(index.tools):
            sims = index.vectors @ self.embedder.embed_query(query)
            order = np.argsort(-sims, kind="stable")[:depth]
            dense = [(int(i), float(sims[i])) for i in order]
            stages["dense"] = dict(dense)
        if mode != "dense":
            keyword = _bm25_search(index.bm25, query, depth)
            stages["bm25"] = dict(keyword)
        if mode == "bm25":
            return keyword, stages, False
        if mode == "dense":
            return dense, stages, False
        fused = fuse(dense, keyword, self.fusion, dense_weight=self.dense_weight)
        if mode == "fused" or self.reranker is None:
            return fused, stages, False
        top = [i for i, _ in fused[:depth]]
        scores = self.reranker.score(query, [index.docs[i] for i in top])
        stages["rerank"] = dict(zip(top, scores, strict=True))
        reranked = sorted(zip(top, scores, strict=True), key=lambda p: (-p[1], p[0]))
        tail = [(i, 0.0) for i, _ in fused[depth:]]
        return reranked + tail, stages, True

    def _use_reranker(self) -> bool:
        if self.reranker is None or self.rerank is False:
            return False
        return bool(self.rerank) or self.reranker.loaded

    def select(
        self, intent: str, tools: Iterable[ToolSpec], named: Sequence[str] = (), n: int | None = None
    ) -> Selection:
        """The tools for a step: the plan's ``named`` ones first, then the best ranked, ``n`` in all.

        Args:
            intent: the step's intent (what the tools must serve).
            tools: every tool available (a ``ToolRegistry`` works).
            named: tools the plan named for the step: always included (unknown names are reported).
            n: how many (default: ``top_n``); all named tools are kept even beyond it.
        """
        n = self.top_n if n is None else n
        index = self._build(list(tools))
        position = {t.name: i for i, t in enumerate(index.tools)}
        known = [name for name in dict.fromkeys(named) if name in position]
        missing = [name for name in dict.fromkeys(named) if name not in position]
        mode: Mode = "rerank" if self._use_reranker() else "fused"
        ranked, stages, reranked = self._ranked(index, intent, mode) if index.tools else ([], {}, False)
        top = max((s for _, s in ranked), default=0.0) or 1.0
        score = {i: s / top if not reranked else s for i, s in ranked}
        chosen = [position[name] for name in known]
        for i, _ in ranked:
            if len(chosen) >= n:
                break
            if i not in chosen:
                chosen.append(i)
        scores = [
            SelectedTool(
                name=index.tools[i].name,
                score=round(float(score.get(i, 0.0)), 4),
                named=index.tools[i].name in known,
                dense=_stage(stages, "dense", i),
                bm25=_stage(stages, "bm25", i),
                rerank=_stage(stages, "rerank", i),
            )
            for i in chosen
        ]
        return Selection(intent, [index.tools[i] for i in chosen], scores, len(index.tools), reranked, missing)

    def close(self) -> None:
        self.cache.close()


def _stage(stages: dict[str, dict[int, float]], name: str, i: int) -> float | None:
    value = stages.get(name, {}).get(i)
    return None if value is None else round(float(value), 4)


def _bm25_index(docs: list[str]) -> Any:
    import tantivy  # loads with the first selection, not with the daemon

    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("i", stored=True, indexed=True)
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
    index = tantivy.Index(builder.build())  # in RAM: rebuilt whenever the tool set changes
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for i, doc in enumerate(docs):
        writer.add_document(tantivy.Document(i=i, text=doc))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index


def _bm25_search(index: Any, query: str, k: int) -> list[tuple[int, float]]:
    words = [w for w in _WORD.findall(_CAMEL.sub(" ", query).replace("_", " ")) if w.lower() not in _STOP]
    if not words:
        return []
    parsed, _errors = index.parse_query_lenient(" ".join(words), ["text"])
    searcher = index.searcher()
    hits = searcher.search(parsed, k, count=False).hits
    return [(int(searcher.doc(address)["i"][0]), float(score)) for score, address in hits]


__all__ = ["Selection", "ToolSelector", "VectorCache", "tool_document", "tool_summary"]
