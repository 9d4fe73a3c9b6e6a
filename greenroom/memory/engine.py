"""The memory engine: store, chunk, embed, index, search and forget.

SQLite (:class:`ItemStore`) is the truth; the HNSW and BM25 indexes are derived
and are reconciled with it when the engine opens: a missing, damaged or stale
index is rebuilt (with a warning) or topped up, and tombstoned chunks still in
an index are removed. A crash at any point therefore leaves a store that the
next open makes consistent, without re-embedding anything (vectors are cached
in SQLite by content hash).

Query: the query embedding → HNSW top-k, in parallel with BM25 top-k → fusion →
the reranker over the top n → ``alpha * relevance + beta * recency + gamma *
quality`` (see :mod:`greenroom.memory.settings`).

Thread-safety: searches run concurrently with each other and with ingestion;
mutations (add, ingest batches, forget) are serialised by one lock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from greenroom.bus.errors import BusClosedError
from greenroom.bus.events import Error, Event, MemoryForgotten, MemoryUpserted
from greenroom.bus.memory_records import ForgetReport, Hit, HitScores, MemoryStats, SearchResult
from greenroom.memory.chunking import Kind, chunk_text, content_hash
from greenroom.memory.embeddings import Embedder
from greenroom.memory.errors import BadMemoryInput
from greenroom.memory.fusion import final_score, fuse, recency, scaled
from greenroom.memory.reranker import Reranker, RerankerUnavailable
from greenroom.memory.settings import MemoryConfig
from greenroom.memory.store import SOURCES, Filters, ItemStore, NewChunk, NewItem
from greenroom.policy.guards import redact

if TYPE_CHECKING:
    import numpy as np

    from greenroom.memory.dense import DenseIndex
    from greenroom.memory.keyword import KeywordIndex

log = structlog.get_logger(__name__)

Publish = Callable[[Event], object]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


class MemoryEngine:
    """Hybrid memory over one SQLite file and two index files.

    Args:
        db_path: the SQLite file (the truth).
        index_dir: where ``hnsw.bin``/``hnsw.json`` and the ``bm25/`` folder live.
        config: the ``[memory]`` settings.
        embedder: defaults to one for ``config.embedding_model``.
        reranker: defaults to one for ``config.reranker_model``.
        publish: receives memory events (upserts, forgets, ingest progress).
        scrub: called by ``forget`` with the forgotten texts and item ids, after they left memory's
            own files: removes them from the rest of the daemon's data (the journal) and returns the
            seqs of the events it rewrote, which ``memory.forgotten`` lists.
    """

    def __init__(
        self,
        db_path: Path,
        index_dir: Path,
        config: MemoryConfig | None = None,
        *,
        embedder: Embedder | None = None,
        reranker: Reranker | None = None,
        publish: Publish | None = None,
        scrub: Callable[[list[str], list[str]], list[int]] | None = None,
    ) -> None:
        self.config = config or MemoryConfig()
        self.store = ItemStore(db_path)
        self.index_dir = index_dir
        self.embedder = embedder or Embedder(
            self.config.embedding_model, batch_size=self.config.embedding_batch,
            query_cache=self.config.query_cache, query_threads=self.config.query_threads,
        )  # fmt: skip
        self.reranker = reranker or Reranker(self.config.reranker_model, instruction=self.config.rerank_instruction)
        self.publish: Publish = publish or (lambda event: None)
        self.scrub = scrub
        self.mutate = threading.RLock()
        self._open_lock = threading.Lock()
        self._dense: DenseIndex | None = None
        self._keyword: KeywordIndex | None = None
        self._reranker_error: str | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bm25")

    # --- opening and reconciling ------------------------------------------------

    @property
    def dense(self) -> DenseIndex:
        self.open()
        assert self._dense is not None
        return self._dense

    @property
    def keyword(self) -> KeywordIndex:
        self.open()
        assert self._keyword is not None
        return self._keyword

    def open(self) -> None:
        """Load the embedding model and both indexes, repairing them from SQLite (idempotent)."""
        if self._keyword is not None:
            return
        with self._open_lock, self.mutate:
            if self._keyword is not None:
                return
            # hnswlib, tantivy and numpy load here, on first use, not at the daemon's start.
            from greenroom.memory.dense import DenseIndex
            from greenroom.memory.keyword import KeywordIndex

            self.index_dir.mkdir(parents=True, exist_ok=True)
            self.index_dir.chmod(0o700)
            dim = self.embedder.dim
            model = self.store.get_meta("embedding_model")
            if model is not None and model != self.embedder.model_name:
                log.warning("embedding_model_changed", was=model, now=self.embedder.model_name)
                self.store.clear_vectors()
            self.store.set_meta("embedding_model", self.embedder.model_name)
            c = self.config
            dense = DenseIndex(
                self.index_dir / "hnsw.bin", dim, m=c.hnsw_m, ef_construction=c.hnsw_ef_construction,
                ef_search=c.hnsw_ef_search,
            )  # fmt: skip
            reason = dense.load()
            if (reason and reason != "missing") or (reason == "missing" and self.store.stats()["chunks"]):
                log.warning("memory_index_rebuilt", index="hnsw", reason=reason)
                self._rebuild_dense(dense)
            keyword = KeywordIndex(self.index_dir / "bm25")
            reason = keyword.open()
            if reason is None and keyword.num_docs != self.store.bm25_count():
                reason = f"holds {keyword.num_docs} chunks, the store says {self.store.bm25_count()}"
            if reason:
                log.warning("memory_index_rebuilt", index="bm25", reason=reason)
                keyword.recreate()
                self.store.clear_bm25()
            self._dense, self._keyword = dense, keyword
            self._reconcile()

    def _rebuild_dense(self, dense: DenseIndex) -> None:
        count = self.store.stats()["chunks"]
        dense.reset(count + 1024)
        for batch in self.store.iter_chunks():
            self._index_vectors(dense, batch)
        dense.save()
        self.store.drop_settled_tombstones()

    def _index_vectors(self, dense: DenseIndex, rows: Sequence[dict[str, Any]]) -> int:
        """Add rows' vectors to ``dense`` from the cache, embedding what is missing; return how many embedded."""
        import numpy as np

        vectors, embedded = self._vectors({r["content_hash"]: r["text"] for r in rows})
        dense.add([r["id"] for r in rows], np.stack([vectors[r["content_hash"]] for r in rows]))
        return embedded

    def _vectors(self, texts: dict[str, str]) -> tuple[dict[str, np.ndarray], int]:
        """Vectors by content hash: from the cache, embedding (and caching) only new text."""
        cached = self.store.cached_vectors(list(texts))
        missing = {h: t for h, t in texts.items() if h not in cached}
        if missing:
            fresh = self.embedder.embed(list(missing.values()))
            new = dict(zip(missing.keys(), fresh, strict=True))
            self.store.cache_vectors(new)
            cached.update(new)
        return cached, len(missing)

    def _reconcile(self) -> None:
        """Make both indexes agree with SQLite (after a crash, a kill, or a lost file)."""
        assert self._dense is not None
        assert self._keyword is not None
        dense, keyword = self._dense, self._keyword
        pending = self.store.tombstones(pending_only=True)
        live = set(self.store.chunk_ids().tolist())
        labels = dense.labels()
        stale = (labels - live) | (pending & labels)
        if stale:
            dense.remove(sorted(stale))
        missing = live - labels
        if missing:
            rows = [r for batch in self.store.iter_chunks() for r in batch if r["id"] in missing]
            self._index_vectors(dense, rows)
            log.info("memory_index_topped_up", index="hnsw", chunks=len(rows))
        if pending:
            keyword.delete(sorted(pending))
        unindexed = 0
        for batch in self.store.iter_chunks(unindexed_only=True):
            keyword.upsert(batch)
            unindexed += len(batch)
        if keyword.pending:
            keyword.commit()
            self.store.mark_all_bm25()
        if unindexed:
            log.info("memory_index_topped_up", index="bm25", chunks=unindexed)
        if self.store.get_meta("purge_pending") == "1":
            self._purge()
        elif dense.dirty:
            dense.save()
        if pending:
            self.store.settle_tombstones(pending)

    # --- adding -----------------------------------------------------------------

    def chunk(self, text: str, kind: Kind = "text", heading_prefix: str = "") -> list[NewChunk]:
        """Chunk ``text`` with the embedding model's tokenizer; each chunk's indexed text leads with its heading."""
        out = []
        for c in chunk_text(
            text, kind, chunk_tokens=self.config.chunk_tokens, overlap=self.config.chunk_overlap,
            count_tokens=self.embedder.count_tokens,
        ):  # fmt: skip
            heading = " > ".join(h for h in (heading_prefix, c.heading) if h)
            indexed = f"{heading}\n{c.text}" if heading and not c.text.lstrip().startswith("#") else c.text
            out.append(NewChunk(indexed, c.start, c.end, heading, c.tokens, content_hash(indexed)))
        return out

    def vectors_for(self, chunks: Sequence[NewChunk]) -> tuple[dict[str, np.ndarray], int]:
        """Vectors for chunks' texts: from the cache, embedding (and caching) only new text."""
        return self._vectors({c.content_hash: c.text for c in chunks})

    @staticmethod
    def item_vector(chunks: Sequence[NewChunk], vectors: dict[str, np.ndarray]) -> np.ndarray:
        import numpy as np

        mean = np.mean([vectors[c.content_hash] for c in chunks], axis=0)
        return (mean / (np.linalg.norm(mean) + 1e-12)).astype(np.float32)

    def commit_item(
        self,
        item: NewItem,
        chunks: Sequence[NewChunk],
        vectors: dict[str, np.ndarray],
        *,
        replace: str | None = None,
        commit_bm25: bool = True,
    ) -> str:
        """Write an item and its chunks to SQLite, then to both indexes (call under :attr:`mutate`)."""
        import numpy as np

        item_vector = self.item_vector(chunks, vectors)
        if replace:
            old, ids = self.store.replace(replace, item, chunks, item_vector)
            item_id = replace
            self.dense.remove(old)
            self.keyword.delete(old)
        else:
            item_id, ids = self.store.insert(item, chunks, item_vector)
        self.dense.add(ids, np.stack([vectors[c.content_hash] for c in chunks]))
        updated = time.time()
        self.keyword.upsert(
            {"id": i, "text": c.text, "source": item.source, "tags": item.tags, "updated": updated}
            for i, c in zip(ids, chunks, strict=True)
        )
        if commit_bm25:
            self.commit_indexes(save_dense=False)
        self.publish(
            MemoryUpserted(
                item_id=item_id, source=item.source, action="updated" if replace else "added", uri=item.uri,
                chunks=len(chunks),
            )
        )  # fmt: skip
        return item_id

    def commit_indexes(self, *, save_dense: bool = True) -> None:
        """Make BM25 changes visible and durable; save HNSW if asked. Settles tombstones."""
        with self.mutate:
            keyword = self.keyword
            # Tombstones only matter to BM25 (HNSW is checked against SQLite on open).
            pending_ids = self.store.tombstones(pending_only=True)
            if keyword.pending:
                keyword.commit()
                self.store.mark_all_bm25()
            if pending_ids:
                self.store.settle_tombstones(pending_ids)
            if save_dense and self.dense.dirty:
                self.dense.save()

    def add(
        self,
        text: str,
        *,
        source: str = "note",
        uri: str | None = None,
        title: str = "",
        tags: Sequence[str] = (),
        key: str | None = None,
        quality: float = 0.5,
        metadata: dict[str, Any] | None = None,
        kind: Kind = "text",
    ) -> tuple[str, bool]:
        """Remember ``text`` (secrets redacted first); return ``(item id, created)``.

        The same ``key`` twice stores it once; text already in memory is not stored again
        (the existing item's id comes back with ``created`` False).

        Raises:
            BadMemoryInput: empty text, an unknown source or a quality outside 0-1.
        """
        if not text or not text.strip():
            raise BadMemoryInput("cannot remember empty text")
        if source not in SOURCES:
            raise BadMemoryInput(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        if not 0 <= quality <= 1:
            raise BadMemoryInput(f"quality must be between 0 and 1, got {quality}")
        text, _ = redact(text)
        self.open()
        if key and (existing := self.store.item_by_key(key)):
            return existing["id"], False
        digest = content_hash(text)
        if existing := self.store.item_by_hash(digest):
            return existing["id"], False
        chunks = self.chunk(text, kind, title)
        vectors, _ = self.vectors_for(chunks)
        item = NewItem(
            source=source, content_hash=digest, uri=uri, title=title, tags=list(tags), key=key, quality=quality,
            metadata=metadata or {},
        )  # fmt: skip
        with self.mutate:
            return self.commit_item(item, chunks, vectors), True

    # --- searching --------------------------------------------------------------

    def search(
        self, query: str, *, k: int = 10, filters: Filters | None = None, rerank: bool | None = None
    ) -> SearchResult:
        """The ``k`` best chunks for ``query`` with every stage's score.

        Raises:
            BadMemoryInput: an empty query or ``k`` below 1.
        """
        if not query or not query.strip():
            raise BadMemoryInput("the query is empty")
        if k < 1:
            raise BadMemoryInput(f"k must be at least 1, got {k}")
        c = self.config
        filters = filters or Filters()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        dense, keyword = self.dense, self.keyword
        allowed = None if filters.empty else self.store.chunk_ids(filters)
        bm25_future = self._pool.submit(keyword.search, query, c.candidates, filters)
        vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        dense_hits = dense.search(vector, c.candidates, allowed)
        t2 = time.perf_counter()
        bm25_hits = bm25_future.result()
        if allowed is not None and filters.uri_prefix:
            allowed_set = set(allowed.tolist())
            bm25_hits = [h for h in bm25_hits if h[0] in allowed_set]
        t3 = time.perf_counter()
        timings.update(embed=(t1 - t0) * 1e3, hnsw=(t2 - t1) * 1e3, bm25_wait=(t3 - t2) * 1e3)

        fused = fuse(dense_hits, bm25_hits, c.fusion, rrf_k=c.rrf_k, dense_weight=c.dense_weight)
        do_rerank = c.rerank if rerank is None else rerank
        n = max(c.rerank_top_n, k) if do_rerank else k
        top = fused[:n]
        rows = self.store.chunks([doc for doc, _ in top])
        top = [(doc, s) for doc, s in top if doc in rows]  # a forget may have raced the search
        relevance = scaled(dict(top))
        rerank_scores: dict[int, float] = {}
        note = "" if do_rerank else "reranking is off"
        if do_rerank and top and not self.reranker.ready:  # never wait on a download: fetch it meanwhile
            self.reranker.fetch(self._reranker_failed)
            note = self._reranker_error or f"not reranked yet: {self.reranker.model_name} is being downloaded"
        elif do_rerank and top:
            t4 = time.perf_counter()
            try:
                scores = self.reranker.score(query, [rows[doc]["text"] for doc, _ in top])
                rerank_scores = dict(zip((doc for doc, _ in top), scores, strict=True))
                relevance = dict(rerank_scores)
            except RerankerUnavailable as exc:
                self._reranker_failed(exc)
                note = str(exc)
            timings["rerank"] = (time.perf_counter() - t4) * 1e3

        dense_rank = {doc: (rank, s) for rank, (doc, s) in enumerate(dense_hits, start=1)}
        bm25_rank = {doc: (rank, s) for rank, (doc, s) in enumerate(bm25_hits, start=1)}
        fused_scores = dict(top)
        now = time.time()
        hits = []
        for doc, _ in top:
            row = rows[doc]
            rec = recency(now - row["updated"], c.recency_half_life_days)
            rel = relevance.get(doc, 0.0)
            d, b = dense_rank.get(doc), bm25_rank.get(doc)
            scores_ = HitScores(
                dense=d[1] if d else None, dense_rank=d[0] if d else None, bm25=b[1] if b else None,
                bm25_rank=b[0] if b else None, fused=fused_scores[doc], rerank=rerank_scores.get(doc),
                relevance=rel, recency=rec, quality=row["quality"],
                final=final_score(rel, rec, row["quality"], alpha=c.alpha, beta=c.beta, gamma=c.gamma),
            )  # fmt: skip
            hits.append(
                Hit(
                    item_id=row["item_id"], chunk_id=doc, text=row["text"], source=row["source"], uri=row["uri"],
                    title=row["title"], heading=row["heading"], start=row["start"], end=row["end"],
                    tags=json.loads(row["tags"]), created=row["created"], updated=row["updated"], scores=scores_,
                )
            )  # fmt: skip
        hits.sort(key=lambda h: (-h.scores.final, h.chunk_id))
        hits = hits[:k]
        self.store.record_access(h.item_id for h in hits)
        timings["total"] = (time.perf_counter() - t0) * 1e3
        return SearchResult(hits=hits, reranked=bool(rerank_scores), rerank_note=note, timings_ms=timings)

    # --- forgetting -------------------------------------------------------------

    def forget(
        self,
        item_ids: Sequence[str] = (),
        *,
        filters: Filters | None = None,
        query: str | None = None,
        limit: int = 1,
        reason: str = "",
        scrub: bool = True,
        keep: Sequence[str] = (),
    ) -> ForgetReport:
        """Forget items by id, by filters (source, tags, path prefix, time) or by query.

        By query, the items behind the best ``limit`` hits go. Forgotten text leaves
        SQLite (overwritten: ``secure_delete``), the WAL, the embedding cache, the
        HNSW file (its vector is zeroed) and the BM25 files (the index is rewritten);
        with ``scrub``, other items that quote it (a task's summary, a chat answer) keep
        the rest of their text with the quote replaced, and the engine's ``scrub`` hook
        takes it out of the journal; the texts in ``keep`` (another live record still
        holds them word for word) are left in both.

        Raises:
            BadMemoryInput: nothing to select by.
        """
        targets = list(item_ids)
        if filters is not None and not filters.empty:
            targets += self.store.item_ids(filters)
        if query:
            targets += [h.item_id for h in self.search(query, k=max(limit, 1), rerank=False).hits][:limit]
        elif not item_ids and (filters is None or filters.empty):
            raise BadMemoryInput("forget needs item ids, a filter or a query")
        targets = list(dict.fromkeys(t for t in targets if self.store.item(t)))
        if not targets:
            return ForgetReport()
        with self.mutate:
            # A chunk of a kept text (a long message is several chunks) is kept too.
            texts = [t for t in self._texts(targets) if not any(t.strip() in k for k in keep)] if scrub else []
            chunk_ids = self.store.delete(targets)
            self.store.set_meta("purge_pending", "1")
            self.dense.remove(chunk_ids)
            self.keyword.delete(chunk_ids)
            self._unquote(texts)
            self._purge()
            self.embedder.clear_query_cache()  # recent query texts may quote what was forgotten
        rewritten = self.scrub(texts, targets) if texts and self.scrub is not None else []
        self.publish(MemoryForgotten(item_ids=targets, chunks=len(chunk_ids), reason=reason, rewritten=rewritten))
        log.info("memory_forgotten", items=len(targets), chunks=len(chunk_ids))
        return ForgetReport(item_ids=targets, chunks=len(chunk_ids))

    def _unquote(self, texts: Sequence[str]) -> None:
        """Rewrite the items that quote ``texts`` (a task's summary, a chat answer): the quote becomes the marker."""
        from greenroom.bus.scrub import Scrubber
        from greenroom.memory.quotes import quoting_items, scrubbed_item

        scrubber = Scrubber(texts)
        if not scrubber:
            return
        for item_id in quoting_items(self.store, scrubber):
            rebuilt = scrubbed_item(self.store, item_id, scrubber, self.embedder.count_tokens)
            if rebuilt is not None:
                item, chunks = rebuilt
                vectors, _ = self.vectors_for(chunks)
                self.commit_item(item, chunks, vectors, replace=item_id, commit_bm25=False)
                log.info("memory_quote_forgotten", item_id=item_id)  # ids only: never the text

    def _texts(self, item_ids: Sequence[str]) -> list[str]:
        """The text of each chunk of these items, also without its heading line (quotes lack it)."""
        out = []
        for item_id in item_ids:
            for row in self.store.chunks(self.store.item_chunk_ids(item_id)).values():
                text, heading = row["text"], row["heading"]
                out.append(text)
                if heading and text.startswith(heading + "\n"):
                    out.append(text[len(heading) + 1 :])
        return out

    def _purge(self) -> None:
        """Leave no trace of deleted chunks in the files: rewrite BM25, save HNSW, truncate the WAL."""
        keyword, dense = self.keyword, self.dense
        keyword.compact(self.store.iter_chunks())
        self.store.mark_all_bm25()
        if dense.deleted_ratio > 0.25 and len(dense.deleted) > 1000:
            self._rebuild_dense(dense)
        else:
            dense.save()
        self.store.settle_tombstones(self.store.tombstones(pending_only=True))
        self.store.set_meta("purge_pending", "0")
        self.store.truncate_wal()

    # --- the rest ---------------------------------------------------------------

    def get(self, item_id: str) -> dict[str, Any] | None:
        """An item with its text (its chunks' text joined in order) — None if unknown."""
        item = self.store.item(item_id)
        if item is None:
            return None
        rows = self.store.chunks(self.store.item_chunk_ids(item_id))
        item = {k: v for k, v in item.items() if k != "vector"}
        item["tags"] = json.loads(item["tags"])
        item["chunks"] = [rows[i]["text"] for i in sorted(rows, key=lambda i: rows[i]["ord"])]
        return item

    def set_quality(self, item_id: str, quality: float) -> bool:
        return self.store.set_quality(item_id, quality)

    def _reranker_failed(self, exc: RerankerUnavailable) -> None:
        """Report an unloadable reranker once: a log line and one event, not one per search."""
        if self._reranker_error is None:
            log.warning("reranker_unavailable", error=str(exc))
            try:  # from the fetch thread, which may outlive the daemon's bus
                self.publish(Error(message=str(exc), code="reranker_unavailable"))
            except BusClosedError:
                log.info("reranker_unavailable_not_journaled", reason="the bus closed meanwhile")
        self._reranker_error = str(exc)

    @property
    def reranker_error(self) -> str | None:
        """Why searches are not reranked, once a search found the reranker unavailable (else None)."""
        return self._reranker_error

    def stats(self) -> MemoryStats:
        s = self.store.stats()
        dense, keyword = self.dense, self.keyword
        db = self.store.db.execute("PRAGMA database_list").fetchone()[2]
        return MemoryStats(
            items=s["items"], by_source=s["by_source"], chunks=s["chunks"], tokens=s["tokens"],
            cached_vectors=s["cached_vectors"], dense_vectors=len(dense), dense_deleted=len(dense.deleted),
            bm25_docs=keyword.num_docs, db_bytes=_size(Path(db)), dense_bytes=_size(dense.path),
            bm25_bytes=_size(keyword.path), embedding_model=self.embedder.model_name,
            reranker_model=self.reranker.model_name if self.config.rerank else "",
            reranker_status=self.reranker.state if self.config.rerank else "off",
        )  # fmt: skip

    def close(self) -> None:
        """Save the indexes and close everything (idempotent)."""
        with self.mutate:
            if self._keyword is not None:
                self.commit_indexes(save_dense=True)
                self._keyword.close()
                self._keyword = None
                self._dense = None
            self._pool.shutdown(wait=True)
            self.store.close()
