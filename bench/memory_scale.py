"""Memory at scale: ingest real text to ~100k chunks, then measure.

Reports, each beside its baseline from the same run:

- ingest throughput (chunks/s through the whole pipeline: read, chunk, embed,
  SQLite, HNSW, BM25) beside the raw embedding throughput of the same model on
  a sample of the same chunks;
- query latency p50/p99 including the query embedding, without and with rerank;
- ANN recall@10 of HNSW against exact search over the same stored vectors;
- index sizes, rebuild times (HNSW from cached vectors, BM25 from SQLite) and a forget.

The corpus is real and offline: Python's standard library and the installed
site-packages (source, docs, READMEs), ingested file by file until the target.

    python -m bench.memory_scale [--chunks 100000] [--dir /tmp/grb-memory-scale]

``--dir`` keeps the store: a second run skips ingesting what is there.
"""

from __future__ import annotations

import argparse
import random
import sysconfig
import time
from pathlib import Path

import numpy as np

from bench.common import percentile
from greenroom.memory import MemoryConfig, MemoryEngine, Reranker
from greenroom.memory.ingest import Ingestion, _walk

SUFFIXES = (".py", ".md", ".rst", ".txt")


def corpus_files() -> list[Path]:
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    files: list[Path] = []
    for root in roots:
        files += [f for f in _walk(root, ["site-packages", "__pycache__"]) if f.suffix in SUFFIXES]
    return list(dict.fromkeys(files))


def ingest_to(engine: MemoryEngine, files: list[Path], target: int) -> int:
    """Ingest files in slices until the store holds ``target`` chunks; return how many files were used."""
    step = 100
    start = 0
    while start < len(files) and engine.store.stats()["chunks"] < target:
        t0 = time.perf_counter()
        report = Ingestion(engine, files[start : start + step]).run()
        start += step
        have = engine.store.stats()["chunks"]
        rate = report.embedded / (time.perf_counter() - t0)
        print(f"  {have:,} chunks ({rate:,.0f} chunks/s)", flush=True)
    return start


def measured_ingest(engine: MemoryEngine, files: list[Path], chunks: int) -> tuple[float, float, int]:
    """Ingest ~``chunks`` more chunks into the full store, then embed the same texts raw.

    Returns (ingest chunks/s, raw chunks/s, chunks), both measured back to back.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--dir", default="/tmp/grb-memory-scale")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reranker", help="reranker model folder (default: a tiny generated one)")
    args = parser.parse_args()
    root = Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    reranker_path = args.reranker
    if reranker_path is None:
        from greenroom.models.tiny import build_tiny_model

        reranker_path = str(build_tiny_model(root / "tiny-reranker"))
    engine = MemoryEngine(root / "memory.sqlite", root / "index", MemoryConfig(), reranker=Reranker(reranker_path))
    engine.open()
    print(f"corpus: stdlib + site-packages, target {args.chunks:,} chunks")
    files = corpus_files()
    used = ingest_to(engine, files, args.chunks - 2000)
    print("measuring ingest into the full store, then raw embedding of the same chunks")
    ingest_rate, raw_rate, measured = measured_ingest(engine, files[used:], 4000)
    stats = engine.stats()
    rng = random.Random(7)
    ids = engine.store.chunk_ids()

    # Queries: the first words of random chunks (what a person half-remembers).
    query_rows = engine.store.chunks([int(i) for i in rng.sample(list(ids), args.queries)])
    queries = [" ".join(r["text"].split()[:8]) for r in query_rows.values()]
    engine.search(queries[0], rerank=False)  # warm
    plain = []
    for q in queries:
        t = time.perf_counter()
        engine.search(q, k=10, rerank=False)
        plain.append((time.perf_counter() - t) * 1e3)
    embed_only = []
    for q in queries:
        t = time.perf_counter()
        engine.embedder.embed_query(q)
        embed_only.append((time.perf_counter() - t) * 1e3)
    reranked = []
    for q in queries[:50]:
        t = time.perf_counter()
        engine.search(q, k=10, rerank=True)
        reranked.append((time.perf_counter() - t) * 1e3)

    # ANN recall@10 against exact search over every stored vector.
    live = sorted(engine.dense.labels())
    matrix = np.concatenate([engine.dense.vectors(live[i : i + 20000]) for i in range(0, len(live), 20000)])
    labels = np.asarray(live)
    hits = 0
    for q in queries:
        v = engine.embedder.embed_query(q)
        exact = set(labels[np.argsort(-(matrix @ v))[:10]].tolist())
        ann = {c for c, _ in engine.dense.search(v, 10)}
        hits += len(exact & ann)
    recall = hits / (10 * len(queries))

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

    mib = 2**20
    print()
    print(f"chunks                {stats.chunks:,} in {stats.items:,} items ({stats.tokens:,} tokens)")
    print(
        f"ingest                {ingest_rate:,.1f} chunks/s ({measured:,} chunks into the full store) | raw embedding"
        f" of the same texts {raw_rate:,.1f} chunks/s -> {ingest_rate / raw_rate:.0%}"
    )
    print(
        f"query, no rerank      p50 {percentile(plain, 0.5):.2f} ms  p99 {percentile(plain, 0.99):.2f} ms"
        f" | query embedding alone p50 {percentile(embed_only, 0.5):.2f} ms"
    )
    print(
        f"query, rerank top 20  p50 {percentile(reranked, 0.5):.1f} ms  p99 {percentile(reranked, 0.99):.1f} ms"
        f" (tiny random reranker: cost of the path, not of Qwen3-Reranker-0.6B)"
    )
    print(f"ANN recall@10         {recall:.3f} vs exact search (ef_search {engine.config.hnsw_ef_search})")
    print(
        f"sizes                 sqlite {stats.db_bytes / mib:,.0f} MiB, hnsw {stats.dense_bytes / mib:,.0f} MiB,"
        f" bm25 {stats.bm25_bytes / mib:,.0f} MiB"
    )
    print(f"rebuild               hnsw {hnsw_rebuild:.1f} s (from cached vectors), bm25 {bm25_rebuild:.1f} s")
    print(f"forget one item       {forget_s:.2f} s (includes rewriting BM25 and saving HNSW)")
    engine.close()


if __name__ == "__main__":
    main()
