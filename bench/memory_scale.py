"""Memory at scale: a ~100k-chunk store of real text, then query latency, recall and ingest.

Reports, each beside its baseline from the same run and a verdict:

- query p50/p99, hybrid (HNSW ∥ BM25, fused), no rerank, **query embedding
  included** (every query fresh: the embedder's query cache is cleared before
  each), beside the query embedding alone (the floor on this CPU), with the
  split into embedding and retrieval; the model's own forward pass (the path
  before the lean query encoder) and 1 vs 2 torch threads in the same run; a
  repeated query (the query cache's hit) and what a smaller (3-layer) query
  encoder would give;
- ANN recall@10 of HNSW against exact search over the same stored vectors, at
  the default ef_search and a few values around it (with HNSW's search p50);
- ingest throughput into the full store (read, chunk, embed, SQLite, HNSW,
  BM25) beside raw embedding of the same texts;
- rerank path cost, index sizes, rebuild times and a forget.

The corpus is real and offline: Python's standard library and the installed
site-packages (source, docs, READMEs). The first build embeds ~100k chunks once
at the model's best batch size (``bench/memory_vectors.py``; ~35-40 min on this
2-core CPU) and keeps the vectors in ``--cache``; later builds reuse them and
take minutes, and a kept ``--dir`` store is reused as it is.

    python -m bench.memory_scale [--chunks 100000] [--dir /tmp/grb-memory-scale]
                                 [--cache /tmp/grb-memory-vectors] [--build-only]
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench import memory_vectors as mv
from bench.common import percentile
from greenroom.memory import MemoryConfig, MemoryEngine, Reranker
from greenroom.memory.embeddings import Embedder
from greenroom.memory.ingest import Ingestion, _walk
from greenroom.memory.query_threads import QueryThreads

SUFFIXES = (".py", ".md", ".rst", ".txt")
QUERY_P50_MS = 10.0
RECALL = 0.95
INGEST_SHARE = 0.85


def say(line: str) -> None:
    print(line, flush=True)


def corpus_files() -> list[Path]:
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    files: list[Path] = []
    for root in roots:
        files += [f for f in _walk(root, ["site-packages", "__pycache__"]) if f.suffix in SUFFIXES]
    return list(dict.fromkeys(files))


def build(engine: MemoryEngine, files: list[Path], target: int, cache_path: Path) -> int:
    """Make the store hold ~``target`` chunks; return how many of ``files`` it is built from."""
    t0 = time.perf_counter()
    used, texts = mv.plan(engine, files, target)
    say(f"planned {len(texts):,} distinct chunks from {used:,} files ({time.perf_counter() - t0:.0f} s)")
    have = engine.store.stats()["chunks"]
    if have >= target:
        return used
    cache = mv.VectorCache(cache_path, engine.embedder.model_name, engine.embedder.dim)
    try:
        rate = mv.fill(engine, cache, texts, log=say)
        say(f"vector cache {cache_path}: {len(cache):,} vectors" + (f" (embedded at {rate:.1f}/s)" if rate else ""))
        say(f"seeded {mv.seed(engine, cache, list(texts)):,} vectors into the store's cache")
    finally:
        cache.close()
    for start in range(0, used, 1000):
        t = time.perf_counter()
        report = Ingestion(engine, files[start : min(start + 1000, used)]).run()
        say(
            f"  ingested {engine.store.stats()['chunks']:,} chunks ({report.chunks / (time.perf_counter() - t):,.0f}"
            f" chunks/s from cached vectors, {report.embedded} embedded)"
        )
    return used


def measured_ingest(engine: MemoryEngine, files: list[Path], chunks: int) -> tuple[float, float, int]:
    """Ingest ~``chunks`` new chunks into the full store (the model embeds them), then embed the same texts raw.

    Returns (ingest chunks/s, raw chunks/s, chunks), measured back to back.
    """
    before = int(engine.store.db.execute("SELECT coalesce(max(id), 0) FROM chunks").fetchone()[0])
    picked, estimate = [], 0
    for f in files:
        if engine.store.item_by_uri(str(f.resolve())) is not None:
            continue  # a reused store: only files not in it yet
        picked.append(f)
        estimate += f.stat().st_size // 700
        if estimate >= chunks:
            break
    t0 = time.perf_counter()
    report = Ingestion(engine, picked).run()
    ingest_s = time.perf_counter() - t0
    texts = [r[0] for r in engine.store.db.execute("SELECT DISTINCT text FROM chunks WHERE id > ?", [before])]
    t0 = time.perf_counter()
    engine.embedder.embed(texts)
    raw_s = time.perf_counter() - t0
    return report.embedded / ingest_s, len(texts) / raw_s, report.embedded


def timed(fn: Callable[[str], Any], queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def smaller_encoder(engine: MemoryEngine, layers: int) -> Callable[[str], Any]:
    """A query embedding with only the first ``layers`` transformer layers (timing only: its vectors are not
    in the index's space; a real small query encoder would be trained to match)."""
    import torch

    model = copy.deepcopy(engine.embedder._load())
    encoder = model[0].auto_model.encoder
    encoder.layer = encoder.layer[:layers]

    def embed(text: str) -> Any:
        with torch.inference_mode():
            prepare = getattr(model, "preprocess", None) or model.tokenize
            return model.forward(prepare([text]))["sentence_embedding"]

    return embed


def fresh(embedder: Embedder, fn: Callable[[str], Any]) -> Callable[[str], Any]:
    """``fn`` with the query cache emptied first (untimed when called inside ``timed``'s clock: ~1 µs)."""

    def run(text: str) -> Any:
        embedder.clear_query_cache()
        return fn(text)

    return run


def thread_split(embedder: Embedder, queries: list[str]) -> dict[str, list[float]]:
    """The query embedding alone with 1 and 2 torch threads and through the model's own forward pass
    (sentence-transformers' modules, torch's shared thread count: the path before the lean encoder),
    interleaved query by query so that load hits all three alike."""
    model, lean, auto = embedder._load(), embedder._lean, embedder._threads
    pools = {"1 thread": QueryThreads(1), "2 threads": QueryThreads(2)}
    out: dict[str, list[float]] = {name: [] for name in (*pools, "model's own forward")}
    try:
        for q in queries:
            for name, pool in pools.items():
                embedder._threads = pool
                out[name] += timed(fresh(embedder, embedder.embed_query), [q])
            embedder._threads = auto
            out["model's own forward"] += timed(lambda t: Embedder._query_vector(model, t, None), [q])
    finally:
        embedder._threads = auto
        for pool in pools.values():
            pool.close()
    assert lean is embedder._lean
    return out


def queries_report(engine: MemoryEngine, queries: list[str]) -> dict[str, Any]:
    embedder = engine.embedder
    engine.search(queries[0], rerank=False)  # warm both sides alike: the model and the indexes are loaded
    embedder.embed_query(queries[0])
    plain, embed_ms, retrieve_ms, picks = [], [], [], []
    for q in queries:
        embedder.clear_query_cache()  # every query fresh: the headline never comes from the cache
        picks.append(embedder._threads.pick())
        t = time.perf_counter()
        result = engine.search(q, k=10, rerank=False)
        plain.append((time.perf_counter() - t) * 1e3)
        embed_ms.append(result.timings_ms["embed"])
        retrieve_ms.append(result.timings_ms["total"] - result.timings_ms["embed"])
    embed_only = timed(fresh(embedder, embedder.embed_query), queries)
    split = thread_split(embedder, queries)
    embedder.clear_query_cache()
    for q in queries:
        embedder.embed_query(q)  # a person asked these before: each is in the query cache now
    hits = embedder.query_hits
    with_cache = timed(lambda q: engine.search(q, k=10, rerank=False), queries)
    hits = embedder.query_hits - hits
    small = timed(smaller_encoder(engine, 3), queries)
    p50 = lambda xs: percentile(xs, 0.5)  # noqa: E731
    out = {
        "p50": p50(plain), "p99": percentile(plain, 0.99), "embed_only": p50(embed_only),
        "embed_only_p99": percentile(embed_only, 0.99), "embed_in_search": p50(embed_ms),
        "retrieve": p50(retrieve_ms), "cached": p50(with_cache), "cached_p99": percentile(with_cache, 0.99),
        "hits": hits, "small": p50(small), "two_threads": sum(p == 2 for p in picks),
        "split": {name: (p50(xs), percentile(xs, 0.99)) for name, xs in split.items()},
    }  # fmt: skip
    return out


def ef_sweep(engine: MemoryEngine, queries: list[str]) -> dict[int, tuple[float, float]]:
    """ANN recall@10 against exact search over every stored vector, and HNSW search p50 (ms), by ef_search.

    The default and a few values around it, on the same query vectors, so the
    trade the default makes is printed beside it.
    """
    live = sorted(engine.dense.labels())
    matrix = np.concatenate([engine.dense.vectors(live[i : i + 20000]) for i in range(0, len(live), 20000)])
    labels = np.asarray(live)
    vectors = [engine.embedder.embed_query(q) for q in queries]
    exact = [set(labels[np.argsort(-(matrix @ v))[:10]].tolist()) for v in vectors]
    default = engine.dense.ef_search
    efs = sorted({64, 96, 128, 192, default})
    hits = dict.fromkeys(efs, 0)
    times: dict[int, list[float]] = {ef: [] for ef in efs}
    try:
        for i, (v, top) in enumerate(zip(vectors, exact, strict=True)):
            for ef in efs[i % len(efs) :] + efs[: i % len(efs)]:  # interleaved, each query in another order
                engine.dense.ef_search = ef
                started = time.perf_counter()
                ann = engine.dense.search(v, 10)
                times[ef].append((time.perf_counter() - started) * 1000)
                hits[ef] += len(top & {c for c, _ in ann})
    finally:
        engine.dense.ef_search = default
    return {ef: (hits[ef] / (10 * len(vectors)), percentile(times[ef], 0.5)) for ef in efs}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--dir", default="/tmp/grb-memory-scale", help="the store (kept and reused)")
    parser.add_argument("--cache", default="/tmp/grb-memory-vectors", help="bulk embeddings (kept and reused)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--ingest-chunks", type=int, default=4000, help="new chunks for the ingest figure (0: skip that measure)"
    )
    parser.add_argument("--reranker", help="reranker model folder (default: a tiny generated one)")
    parser.add_argument("--build-only", action="store_true", help="build (or top up) the store and stop")
    args = parser.parse_args()
    root = Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    reranker_path = args.reranker
    if reranker_path is None:
        from greenroom.models.tiny import build_tiny_model

        reranker_path = str(build_tiny_model(root / "tiny-reranker"))
    engine = MemoryEngine(root / "memory.sqlite", root / "index", MemoryConfig(), reranker=Reranker(reranker_path))
    engine.open()
    say(f"corpus: stdlib + site-packages, target {args.chunks:,} chunks; load average {load()}")
    files = corpus_files()
    used = build(engine, files, args.chunks - 2000, Path(args.cache) / "vectors.sqlite")
    if args.build_only:
        engine.close()
        return
    ingest_rate = raw_rate = measured = 0.0
    if args.ingest_chunks:
        say("measuring ingest into the full store (the model embeds), then raw embedding of the same chunks")
        ingest_rate, raw_rate, measured = measured_ingest(engine, files[used:], args.ingest_chunks)
    stats = engine.stats()
    rng = random.Random(7)
    ids = engine.store.chunk_ids()
    # Queries: the first words of random chunks (what a person half-remembers).
    query_rows = engine.store.chunks([int(i) for i in rng.sample(list(ids), args.queries)])
    queries = [" ".join(r["text"].split()[:8]) for r in query_rows.values()]
    q = queries_report(engine, queries)
    reranked = timed(lambda text: engine.search(text, k=10, rerank=True), queries[:50])
    sweep = ef_sweep(engine, queries)
    recall = sweep[engine.config.hnsw_ef_search][0]

    t = time.perf_counter()
    engine._rebuild_dense(engine.dense)
    hnsw_rebuild = time.perf_counter() - t
    t = time.perf_counter()
    engine.keyword.compact(engine.store.iter_chunks())
    bm25_rebuild = time.perf_counter() - t
    victim = query_rows[next(iter(query_rows))]["item_id"]
    t = time.perf_counter()
    engine.forget([victim])
    forget_s = time.perf_counter() - t
    engine.close()

    mib = 2**20
    say("")
    say(f"chunks                {stats.chunks:,} in {stats.items:,} items ({stats.tokens:,} tokens)")
    say(
        f"query, no rerank      p50 {q['p50']:.2f} ms  p99 {q['p99']:.2f} ms (hybrid, query embedding included)"
        f" | query embedding alone p50 {q['embed_only']:.2f} ms (p99 {q['embed_only_p99']:.2f})"
        f" -> {q['p50'] / q['embed_only']:.2f}x;"
        f" p50 <= {QUERY_P50_MS:g} ms: {verdict(q['p50'] <= QUERY_P50_MS)}"
    )
    say(
        f"  where it goes       embedding {q['embed_in_search']:.2f} ms + retrieval (HNSW ∥ BM25, fuse, rows)"
        f" {q['retrieve']:.2f} ms (p50s)"
    )
    say(
        "  query embedding     p50 / p99 ms, same run, interleaved: "
        + "; ".join(f"{name} {a:.2f} / {b:.2f}" for name, (a, b) in q["split"].items())
        + f" | the default picked 2 threads for {q['two_threads']} of {len(queries)} queries (another core idle)"
    )
    say(
        f"  repeated query      p50 {q['cached']:.2f} ms  p99 {q['cached_p99']:.2f} ms (query cache hit,"
        f" {q['hits']} of {len(queries)});"
        f" a 3-layer encoder embeds in p50 {q['small']:.2f} ms (timing only) -> ~{q['small'] + q['retrieve']:.1f} ms"
    )
    say(
        f"ANN recall@10         {recall:.3f} vs exact search over the same vectors (ef_search"
        f" {engine.config.hnsw_ef_search}); >= {RECALL}: {verdict(recall >= RECALL)}"
    )
    say(
        "  by ef_search        "
        + "; ".join(f"{ef}: {r:.3f} (HNSW search p50 {ms:.2f} ms)" for ef, (r, ms) in sweep.items())
    )
    if raw_rate:
        say(
            f"ingest                {ingest_rate:,.1f} chunks/s ({measured:,.0f} chunks into the full store) | raw"
            f" embedding of the same texts {raw_rate:,.1f} chunks/s -> {ingest_rate / raw_rate:.0%};"
            f" >= {INGEST_SHARE:.0%}: {verdict(ingest_rate >= INGEST_SHARE * raw_rate)}"
        )
    else:
        say("ingest                not measured (--ingest-chunks 0)")
    say(
        f"query, rerank top 20  p50 {percentile(reranked, 0.5):.1f} ms  p99 {percentile(reranked, 0.99):.1f} ms"
        f" (tiny random reranker: cost of the path, not of Qwen3-Reranker-0.6B)"
    )
    say(
        f"sizes                 sqlite {stats.db_bytes / mib:,.0f} MiB, hnsw {stats.dense_bytes / mib:,.0f} MiB,"
        f" bm25 {stats.bm25_bytes / mib:,.0f} MiB"
    )
    say(f"rebuild               hnsw {hnsw_rebuild:.1f} s (from cached vectors), bm25 {bm25_rebuild:.1f} s")
    say(f"forget one item       {forget_s:.2f} s (includes rewriting BM25 and saving HNSW)")
    say(f"load average          {load()} at the end")


if __name__ == "__main__":
    main()
