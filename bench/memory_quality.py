"""Retrieval quality: recall@10 and nDCG@10 for BM25, dense, fused and fused + rerank.

Corpus: Python's own language reference as shipped offline in ``pydoc_data.topics``
(79 topics, ~465k characters), each topic one memory item, chunked as any text.
Queries: 40 hand-labelled questions (below), some phrased the way the reference
words it, some paraphrased, each with the topic(s) that answer it. Retrieval is
scored per item (a topic counts once, at its best chunk's rank) with ir-measures
(``pip install -e .[bench]``), not hand-written metrics.

    python -m bench.memory_quality [--reranker PATH]

Without ``--reranker`` the rerank row uses a tiny random-weight model: it shows
the path works, not what Qwen3-Reranker-0.6B would score (no hub access here).
"""

from __future__ import annotations

import argparse
import atexit
import pydoc_data.topics
import shutil
import tempfile
from pathlib import Path

import ir_measures
from ir_measures import R, nDCG

from greenroom.memory import MemoryConfig, MemoryEngine, Reranker

QUERIES: dict[str, tuple[str, ...]] = {
    "how do I stop a loop early": ("break",),
    "skip the rest of this loop iteration and go to the next one": ("continue",),
    "an anonymous function written inline in one expression": ("lambda",),
    "catch an error and always run cleanup code afterwards": ("try",),
    "throw an exception from another exception, chaining the cause": ("raise",),
    "make an object usable in a with block: enter and exit methods": ("context-managers", "with"),
    "which operator binds tighter, not or and": ("operator-summary", "booleans"),
    "what values count as false in an if test": ("truth",),
    "rebind a variable of an enclosing function from a nested function": ("nonlocal",),
    "modify a module level variable inside a function": ("global",),
    "x += 1 in place operators": ("augassign",),
    "write a coroutine with async def and await": ("async", "await"),
    "generator function that produces values lazily": ("yield",),
    "format a number with thousands separators and padding in str.format": ("formatstrings",),
    "methods of str such as split, strip and join": ("string-methods",),
    "get part of a list with start stop and step": ("slicings",),
    "make my class support len() and indexing like a container": ("sequence-types",),
    "overload + and * for my own numeric class": ("numeric-types",),
    "__getattr__ and __setattr__ hooks for attribute lookup": ("attribute-access",),
    "__init__ __new__ __repr__ __eq__ and __hash__": ("customization",),
    "make instances callable like functions": ("callable-types",),
    "step through code in the interactive debugger with breakpoints": ("debugger",),
    "delete a name or an item from a list": ("del",),
    "dictionary comprehension and literal syntax with key value pairs": ("dict",),
    "list display and list comprehension brackets": ("lists",),
    "how are names resolved, scopes and binding": ("naming", "execmodel"),
    "import a module as an alias, from package import name": ("import",),
    "test whether an element is contained in a collection": ("in",),
    "hexadecimal, octal and binary integer literals with underscores": ("integers",),
    "complex numbers written with a j suffix": ("imaginary",),
    "raw strings, bytes literals and escape sequences": ("strings",),
    "what is the ** operator and how does it treat negative numbers": ("power",),
    "left shift and right shift of integers": ("shifting",),
    "do nothing placeholder statement": ("pass",),
    "dict methods get, setdefault, update and views": ("typesmapping",),
    "list append extend insert pop remove reverse": ("typesseq-mutable",),
    "chained comparisons like a < b < c and comparing different types": ("comparisons",),
    "__dict__, __class__ and __name__ special attributes": ("specialattrs",),
    "keyword arguments and *args unpacking in a function call": ("calls",),
    "decorators and default parameter values in a function definition": ("function",),
}


def run(engine: MemoryEngine, qrels: list[ir_measures.Qrel], items: dict[str, str], mode: str) -> dict[str, float]:
    runs = []
    for qid, query in enumerate(QUERIES):
        if mode == "bm25":
            ranked = engine.keyword.search(query, 50)
        elif mode == "dense":
            ranked = engine.dense.search(engine.embedder.embed_query(query), 50)
        else:
            hits = engine.search(query, k=20, rerank=mode == "rerank").hits
            ranked = [(h.chunk_id, h.scores.final) for h in hits]
        rows = engine.store.chunks([c for c, _ in ranked])
        seen: list[str] = []
        for chunk, _ in ranked:
            item = rows[chunk]["item_id"] if chunk in rows else None
            if item and item not in seen:
                seen.append(item)
        runs += [ir_measures.ScoredDoc(str(qid), doc, 100.0 - rank) for rank, doc in enumerate(seen[:10])]
    return {str(k): v for k, v in ir_measures.calc_aggregate([R @ 10, nDCG @ 10], qrels, runs).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reranker", help="a Qwen3-Reranker-style model folder or hub id")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="grb-quality-"))
    atexit.register(shutil.rmtree, root, True)
    reranker_path = args.reranker
    if reranker_path is None:
        from greenroom.models.tiny import build_tiny_model

        reranker_path = str(build_tiny_model(root / "tiny-reranker"))
    rows: dict[str, dict[str, float]] = {}
    for fusion in ("rrf", "score"):
        engine = MemoryEngine(
            root / f"{fusion}.sqlite", root / f"{fusion}-index", MemoryConfig(fusion=fusion, beta=0.0, gamma=0.0),
            reranker=Reranker(reranker_path),
        )  # fmt: skip
        items: dict[str, str] = {}
        for key, text in pydoc_data.topics.topics.items():
            item_id, _ = engine.add(text, source="url", uri=f"pydoc:{key}", title=key)
            items[key] = item_id  # "if" and "else" share a text, so they share an item
        qrels = [
            ir_measures.Qrel(str(qid), items[topic], 1)
            for qid, topics in enumerate(QUERIES.values())
            for topic in dict.fromkeys(topics)
        ]
        if fusion == "rrf":
            print(f"corpus: {len(items)} topics, {engine.stats().chunks} chunks; {len(QUERIES)} labelled queries")
            rows["BM25 alone"] = run(engine, qrels, items, "bm25")
            rows["dense alone"] = run(engine, qrels, items, "dense")
        rows[f"fused ({fusion})"] = run(engine, qrels, items, "fused")
        if fusion == "rrf":
            rows["fused (rrf) + rerank"] = run(engine, qrels, items, "rerank")
        engine.close()
    print()
    print(f"{'':<24} {'recall@10':>9} {'nDCG@10':>8}")
    for name, m in rows.items():
        print(f"{name:<24} {m['R@10']:>9.3f} {m['nDCG@10']:>8.3f}")
    if args.reranker is None:
        print("(rerank: a tiny random-weight model - the path, not Qwen3-Reranker-0.6B's quality)")


if __name__ == "__main__":
    main()
