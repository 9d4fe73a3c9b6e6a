"""Ingesting files and folders into memory, incrementally.

For each file under the given paths (hidden and ignored folders skipped):

- same size and modification time as last time → *unchanged*, not even read;
- otherwise read and hashed: the same content → *unchanged* (only the time is
  recorded); content already stored under another path → skipped as an exact
  duplicate; else chunked and embedded — only chunks whose text is new to the
  cache reach the model — and if its mean embedding is within
  ``near_duplicate`` cosine of another item it is skipped as a near-duplicate;
- files that were ingested under a given folder and are gone now are forgotten.

Embedding is batched across files. Each file is committed to SQLite in its own
transaction and to the indexes right after, so a kill leaves whole files or
none; the engine's next open tops the indexes up. BM25 is committed every few
seconds and at the end, HNSW saved at the end.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from greenroom._userpath import user_path
from greenroom.bus.events import MemoryIngestProgress
from greenroom.bus.memory_records import IngestReport, SkippedFile
from greenroom.memory.chunking import content_hash
from greenroom.memory.engine import MemoryEngine
from greenroom.memory.errors import BadMemoryInput, SkipFile
from greenroom.memory.readers import read_document
from greenroom.memory.store import NewChunk, NewItem
from greenroom.policy.guards import redact

if TYPE_CHECKING:
    import numpy as np

log = structlog.get_logger(__name__)

_EMBED_BATCH_CHUNKS = 256
_BM25_COMMIT_S = 5.0


@dataclass
class _Prepared:
    path: Path
    item: NewItem
    chunks: list[NewChunk]
    replace: str | None


def _walk(root: Path, ignore: Sequence[str]) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ignore)
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


class Ingestion:
    """One ingest run over ``paths``.

    Args:
        engine: the memory engine (its single writer).
        paths: files and folders (absolute, or relative to the current directory).
        tags: tags for every item this run adds.
        cancel: set it to stop after the current file (what is done stays done).
        on_progress: called after each file with the progress event (also published).
    """

    def __init__(
        self,
        engine: MemoryEngine,
        paths: Sequence[str | Path],
        *,
        tags: Sequence[str] = (),
        cancel: threading.Event | None = None,
        on_progress: Callable[[MemoryIngestProgress], None] | None = None,
        run_id: str | None = None,
    ) -> None:
        import numpy as np

        if not paths:
            raise BadMemoryInput("nothing to ingest: no paths given")
        self.engine = engine
        self.roots = [user_path(p).resolve() for p in paths]
        for root in self.roots:
            if not root.exists() and not engine.store.items_under(str(root)):
                raise BadMemoryInput(f"no such file or folder: {root}")
        self.tags = list(tags)
        self.cancel = cancel or threading.Event()
        self.on_progress = on_progress
        self.report = IngestReport(run_id=run_id or "i-" + uuid.uuid4().hex[:8])
        self._done = 0
        self._total = 0
        self._last_commit = time.monotonic()
        self._batch: list[_Prepared] = []
        self._item_ids: list[str] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._seen_hashes: dict[str, str] = {}

    def _progress(self, path: Path, status: str, reason: str = "") -> None:
        self._done += 1
        event = MemoryIngestProgress(
            run_id=self.report.run_id, done=self._done, total=self._total, path=str(path), status=status, reason=reason
        )
        self.engine.publish(event)
        if self.on_progress:
            self.on_progress(event)

    def run(self) -> IngestReport:
        import numpy as np

        started = time.perf_counter()
        engine = self.engine
        engine.open()
        files = [(root, f) for root in self.roots if root.exists() for f in _walk(root, engine.config.ignore)]
        seen = {str(f) for _, f in files}
        gone = [
            (row["id"], row["uri"])
            for root in self.roots
            # A root that is gone now (a watched file was deleted) matches its own path too.
            for row in engine.store.items_under(str(root) if not root.is_dir() else str(root) + os.sep)
            if row["uri"] not in seen and not Path(row["uri"]).exists()
        ]
        self._total = len(files) + len(gone)
        self._item_ids, vectors = engine.store.item_vectors()
        self._vectors = np.zeros((max(len(self._item_ids) * 2, 1024), engine.embedder.dim), dtype=np.float32)
        if self._item_ids:
            self._vectors[: len(self._item_ids)] = vectors
        for _, path in files:
            if self.cancel.is_set():
                self.report.cancelled = True
                break
            self._consider(path)
        self._flush()
        if gone and not self.report.cancelled:
            forgotten = engine.forget([item_id for item_id, _ in gone], reason="file deleted")
            self.report.forgotten = len(forgotten.item_ids)
            for _, uri in gone:
                self._progress(Path(uri), "forgotten", "file deleted")
        engine.commit_indexes(save_dense=True)
        self.report.seconds = round(time.perf_counter() - started, 3)
        log.info(
            "memory_ingested", run_id=self.report.run_id, added=self.report.added, updated=self.report.updated,
            unchanged=self.report.unchanged, skipped=len(self.report.skipped), embedded=self.report.embedded,
            seconds=self.report.seconds,
        )  # fmt: skip
        return self.report

    def _skip(self, path: Path, reason: str) -> None:
        self.report.skipped.append(SkippedFile(str(path), reason))
        self._progress(path, "skipped", reason)

    def _consider(self, path: Path) -> None:
        store, config = self.engine.store, self.engine.config
        uri = str(path)
        try:
            stat = path.stat()
        except OSError as exc:
            self._skip(path, f"cannot read: {exc.strerror or exc}")
            return
        existing = store.item_by_uri(uri)
        if existing and existing["file_size"] == stat.st_size and existing["file_mtime_ns"] == stat.st_mtime_ns:
            self.report.unchanged += 1
            self._progress(path, "unchanged")
            return
        try:
            doc = read_document(path, config.max_file_bytes)
        except SkipFile as exc:
            self._skip(path, str(exc))
            return
        text, _ = redact(doc.text)
        digest = content_hash(text)
        if existing and existing["content_hash"] == digest:
            store.touch_file(existing["id"], stat.st_size, stat.st_mtime_ns)
            self.report.unchanged += 1
            self._progress(path, "unchanged")
            return
        twin = store.item_by_hash(digest)
        if twin is None and digest in self._seen_hashes:
            twin = {"uri": self._seen_hashes[digest]}
        if twin is not None and twin["uri"] != uri:
            self._skip(path, f"duplicate of {twin['uri'] or twin.get('id')}")
            return
        self._seen_hashes[digest] = uri
        try:
            chunks = self.engine.chunk(text, doc.kind)
        except ValueError as exc:
            self._skip(path, str(exc))
            return
        item = NewItem(
            source="path", content_hash=digest, uri=uri, title=doc.title, tags=self.tags,
            metadata={"kind": doc.kind, "bytes": stat.st_size}, file_size=stat.st_size, file_mtime_ns=stat.st_mtime_ns,
        )  # fmt: skip
        self._batch.append(_Prepared(path, item, chunks, existing["id"] if existing else None))
        if sum(len(p.chunks) for p in self._batch) >= _EMBED_BATCH_CHUNKS:
            self._flush()

    def _near_duplicate(self, vector: np.ndarray, uri: str) -> str | None:
        import numpy as np

        if not self._item_ids or self.engine.config.near_duplicate >= 1:
            return None
        sims = self._vectors[: len(self._item_ids)] @ vector
        best = int(np.argmax(sims))
        if sims[best] < self.engine.config.near_duplicate:
            return None
        other = self.engine.store.item(self._item_ids[best])
        if other is None or other["uri"] == uri:
            return None
        return f"near-duplicate of {other['uri'] or other['id']} (cosine {sims[best]:.3f})"

    def _remember_vector(self, item_id: str, vector: np.ndarray) -> None:
        import numpy as np

        n = len(self._item_ids)
        if n == len(self._vectors):
            self._vectors = np.concatenate([self._vectors, np.zeros_like(self._vectors)])
        self._vectors[n] = vector
        self._item_ids.append(item_id)

    def _flush(self) -> None:
        """Embed the batch's new text, then commit each file."""
        if not self._batch:
            return
        engine = self.engine
        all_chunks = [c for p in self._batch for c in p.chunks]
        vectors, embedded = engine.vectors_for(all_chunks)
        self.report.embedded += embedded
        with engine.mutate:
            for prepared in self._batch:
                vector = engine.item_vector(prepared.chunks, vectors)
                if reason := self._near_duplicate(vector, prepared.item.uri or ""):
                    self._skip(prepared.path, reason)
                    continue
                item_id = engine.commit_item(
                    prepared.item, prepared.chunks, vectors, replace=prepared.replace, commit_bm25=False
                )
                self._remember_vector(item_id, vector)
                self.report.chunks += len(prepared.chunks)
                if prepared.replace:
                    self.report.updated += 1
                    self._progress(prepared.path, "updated")
                else:
                    self.report.added += 1
                    self._progress(prepared.path, "added")
            if time.monotonic() - self._last_commit > _BM25_COMMIT_S:
                engine.commit_indexes(save_dense=False)
                self._last_commit = time.monotonic()
        self._batch = []


def ingest(engine: MemoryEngine, paths: Sequence[str | Path], **kwargs: object) -> IngestReport:
    """Ingest ``paths`` (see :class:`Ingestion`) and return the report."""
    return Ingestion(engine, paths, **kwargs).run()  # type: ignore[arg-type]
