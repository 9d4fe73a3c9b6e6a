"""Bulk embeddings for ``memory_scale``: computed once at the model's best batch size, kept on disk.

Building a 100k-chunk store spends nearly all its time in the embedding model
(MiniLM on this 2-core CPU: ~40-50 chunks/s, so ~35-40 minutes once). This
module plans the chunks the store will hold (the same reader, redaction and
chunker as ingest), embeds the ones missing from an on-disk cache in large
length-sorted batches, and stores each vector under its content hash, so every
later build reuses them. The store is then built by the ordinary ``Ingestion``
after the engine's own vector cache (the one re-ingests use) is seeded: the
vectors are exactly what the model returns for those texts.

The cache is a small SQLite file: ``hash -> float32 vector``, with the model
name and dimension in a meta table (a different model starts a fresh cache).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from greenroom.memory import MemoryEngine
from greenroom.memory.errors import SkipFile
from greenroom.memory.readers import read_document
from greenroom.policy.guards import redact

PROBE_BATCHES = (16, 32, 64, 128)
COMMIT_EVERY = 2048


class VectorCache:
    """Content hash -> vector, in one SQLite file, for one model.

    Args:
        path: the cache file (created if missing).
        model: the embedding model's name; a cache made by another model is emptied.
        dim: the model's dimension.
    """

    def __init__(self, path: Path, model: str, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        stamp = f"{model} dim={dim}"
        row = self.db.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()
        if row is not None and row[0] != stamp:
            self.db.execute("DELETE FROM vectors")
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('model', ?)", [stamp])
        self.db.commit()

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def missing(self, hashes: Iterable[str]) -> set[str]:
        wanted = set(hashes)
        have = {h for (h,) in self.db.execute("SELECT hash FROM vectors")}
        return wanted - have

    def get(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            part = list(hashes[start : start + 500])
            marks = ", ".join("?" * len(part))
            rows = self.db.execute(f"SELECT hash, vector FROM vectors WHERE hash IN ({marks})", part)
            out.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
        return out

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO vectors VALUES (?, ?)",
            [(h, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def plan(engine: MemoryEngine, files: Sequence[Path], target: int) -> tuple[int, dict[str, str]]:
    """The files a store of ~``target`` chunks is built from, and their chunks' texts by hash.

    Reads, redacts and chunks exactly as ``Ingestion`` does; exact duplicate files count once.

    Returns:
        (how many of ``files`` are used, {content hash: chunk text}).
    """
    texts: dict[str, str] = {}
    seen: set[str] = set()
    chunks = 0
    used = 0
    for path in files:
        if chunks >= target:
            break
        used += 1
        try:
            doc = read_document(path, engine.config.max_file_bytes)
        except (SkipFile, OSError):
            continue
        text, _ = redact(doc.text)
        if text in seen:
            continue
        seen.add(text)
        try:
            planned = engine.chunk(text, doc.kind)
        except ValueError:
            continue
        chunks += len(planned)
        texts.update((c.content_hash, c.text) for c in planned)
    return used, texts


def best_batch(embed: Callable[[list[str], int], object], sample: list[str]) -> tuple[int, dict[int, float]]:
    """The batch size at which the model embeds ``sample`` fastest (chunks/s per size)."""
    rates: dict[int, float] = {}
    embed(sample[:16], 16)  # warm: first-call allocations
    for size in PROBE_BATCHES:
        t = time.perf_counter()
        embed(sample, size)
        rates[size] = len(sample) / (time.perf_counter() - t)
    return max(rates, key=lambda s: rates[s]), rates


def fill(engine: MemoryEngine, cache: VectorCache, texts: dict[str, str], *, log: Callable[[str], None]) -> float:
    """Embed every text the cache lacks, in length-sorted bulk batches; return chunks/s (0 if none)."""
    todo = sorted(cache.missing(texts), key=lambda h: len(texts[h]))
    if not todo:
        return 0.0
    model = engine.embedder._load()  # the engine's own model, as ingest would use it

    def embed(batch: list[str], size: int) -> object:
        return model.encode(batch, batch_size=size, normalize_embeddings=True, convert_to_numpy=True)

    rng = np.random.default_rng(7)
    sample = [texts[todo[int(i)]] for i in rng.choice(len(todo), size=min(256, len(todo)), replace=False)]
    size, rates = best_batch(embed, sample)
    log("batch size probe: " + ", ".join(f"{s}: {r:.1f}/s" for s, r in rates.items()) + f" -> {size}")
    started = time.perf_counter()
    for start in range(0, len(todo), COMMIT_EVERY):
        part = todo[start : start + COMMIT_EVERY]
        vectors = np.asarray(embed([texts[h] for h in part], size), dtype=np.float32)
        cache.put(dict(zip(part, vectors, strict=True)))
        done = start + len(part)
        rate = done / (time.perf_counter() - started)
        log(f"  embedded {done:,}/{len(todo):,} ({rate:.1f} chunks/s, ~{(len(todo) - done) / rate / 60:.0f} min left)")
    return len(todo) / (time.perf_counter() - started)


def seed(engine: MemoryEngine, cache: VectorCache, hashes: Sequence[str]) -> int:
    """Put the cached vectors of ``hashes`` into the engine's own vector cache; return how many."""
    seeded = 0
    for start in range(0, len(hashes), 5000):
        vectors = cache.get(hashes[start : start + 5000])
        engine.store.cache_vectors(vectors)
        seeded += len(vectors)
    return seeded
