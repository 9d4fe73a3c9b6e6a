"""Tool retrieval quality: recall@5 and nDCG@10 for BM25, embeddings, fused and fused + rerank.

Pool (``bench/data/tool_pool.json``): 500 tools — greenroom's built-ins, 139 tools
listed by 17 real MCP servers from npm and PyPI (``bench/data/collect_mcp_tools.py``),
and 348 generated ones in the same style for 50 common products
(``bench/data/generated_tools.py``). Queries: 252 step intents written by hand
with the tools that would carry them out (``bench/data/tool_queries.py``).
Scored with ir-measures (``pip install -e .[bench]``), as ``memory_quality`` is.

    python -m bench.tool_retrieval [--reranker PATH]

Without ``--reranker`` the rerank row uses a tiny random-weight model (no hub
access here): it shows the path works and what it costs, not what a real
Qwen3-Reranker would add. Costs are printed beside each other from the same
run: embedding the pool once, rebuilding the BM25 index, one selection.
"""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import ir_measures
from ir_measures import R, nDCG

from bench.common import percentile
from greenroom.memory import Embedder, Reranker
from greenroom.tools import ToolSpec
from greenroom.tools.selector import ToolSelector, _bm25_index, _bm25_search, tool_document

POOL = Path(__file__).parent / "data" / "tool_pool.json"
MODES = {
    "bm25": "BM25 alone",
    "dense": "embeddings alone (MiniLM)",
    "fused": "fused (scores, half and half)",
    "rerank": "fused + rerank",
}


def load_pool() -> tuple[list[ToolSpec], list[dict[str, Any]]]:
    data = json.loads(POOL.read_text())
    tools = [
        ToolSpec(
            t["name"],
            t["description"],
            None,
            lambda ctx, args: "",
            "read" if t.get("read_only") else "external",
            json_schema=t["input_schema"],
            origin="builtin" if t["source"] == "builtin" else "mcp",
        )
        for t in data["tools"]
    ]
    return tools, data["queries"]


def evaluate(
    selector: ToolSelector, tools: list[ToolSpec], queries: list[dict[str, Any]], mode: str
) -> dict[str, float]:
    qrels = [ir_measures.Qrel(str(i), name, 1) for i, q in enumerate(queries) for name in q["relevant"]]
    run = []
    for i, q in enumerate(queries):
        ranked = selector.rank(q["query"], tools, mode, k=10)  # type: ignore[arg-type]
        run += [ir_measures.ScoredDoc(str(i), name, 100.0 - rank) for rank, (name, _) in enumerate(ranked)]
    return {str(k): v for k, v in ir_measures.calc_aggregate([R @ 5, nDCG @ 10], qrels, run).items()}


def costs(selector: ToolSelector, tools: list[ToolSpec], queries: list[dict[str, Any]]) -> None:
    docs = [tool_document(t) for t in tools]
    started = time.perf_counter()
    selector.embedder.embed(docs)
    embed_s = time.perf_counter() - started
    builds = []
    for _ in range(5):
        started = time.perf_counter()
        index = _bm25_index(docs)
        builds.append(time.perf_counter() - started)
    bm25 = []
    for q in queries[:100]:
        started = time.perf_counter()
        _bm25_search(index, q["query"], 20)
        bm25.append(time.perf_counter() - started)
    embed_q, select = [], []
    for q in queries[:100]:
        started = time.perf_counter()
        selector.embedder.embed_query(q["query"])
        embed_q.append(time.perf_counter() - started)
        started = time.perf_counter()
        selector.select(q["query"], tools)
        select.append(time.perf_counter() - started)
    ms = 1000.0
    print(f"embedding all {len(tools)} tool documents once: {embed_s:.1f} s (then cached; re-embedded only on change)")
    print(f"BM25 index rebuild (tantivy, in RAM): p50 {percentile(builds, 0.5) * ms:.1f} ms")
    print(f"BM25 query: p50 {percentile(bm25, 0.5) * ms:.2f} ms")
    print(f"query embedding alone: p50 {percentile(embed_q, 0.5) * ms:.1f} ms")
    print(f"one selection (embed + BM25 + fuse + pick 8): p50 {percentile(select, 0.5) * ms:.1f} ms, "
          f"p99 {percentile(select, 0.99) * ms:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reranker", help="a Qwen3-Reranker-style model folder or hub id")
    args = parser.parse_args()
    tools, queries = load_pool()
    reranker_path = args.reranker
    if reranker_path is None:
        from greenroom.models.tiny import build_tiny_model

        folder = tempfile.mkdtemp(prefix="grb-tools-")
        atexit.register(shutil.rmtree, folder, True)
        reranker_path = str(build_tiny_model(Path(folder) / "tiny-reranker"))
    selector = ToolSelector(Embedder(), reranker=Reranker(reranker_path), rerank=True, candidates=20)
    started = time.perf_counter()
    selector.warm(tools)
    warm_s = time.perf_counter() - started
    print(f"pool: {len(tools)} tools, {len(queries)} labelled queries (warm-up embedding {warm_s:.1f} s)")
    print(f"{'retrieval':<28} {'recall@5':>9} {'nDCG@10':>9}")
    for mode, label in MODES.items():
        scores = evaluate(selector, tools, queries, mode)
        note = "  (tiny random reranker)" if mode == "rerank" and args.reranker is None else ""
        print(f"{label:<28} {scores['R@5']:>9.3f} {scores['nDCG@10']:>9.3f}{note}")
    selector.rerank = False
    costs(selector, tools, queries)


if __name__ == "__main__":
    main()
