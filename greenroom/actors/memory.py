"""The Memory actor: the one owner of the memory engine (and so of its single BM25 writer).

Searches and single adds run on the actor's thread. An ingest runs on a thread
of its own (it can take minutes) while searches go on; the engine serialises
its writes. Stopping the actor cancels running ingests after their current file.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog

from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.bus.events import MemoryIngestFinished, MemoryStored
from greenroom.bus.memory_records import ForgetReport, IngestReport, MemoryStats, SearchResult
from greenroom.memory import BadMemoryInput, Filters, Ingestion, MemoryEngineError
from greenroom.policy.guards import redact

log = structlog.get_logger(__name__)


class MemoryActor(GreenroomActor):
    name = "memory"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps
        self._ingests: dict[str, tuple[threading.Thread, threading.Event]] = {}

    @property
    def engine(self) -> Any:
        return self.deps.memory

    def on_stop(self) -> None:
        for thread, cancel in list(self._ingests.values()):
            cancel.set()
            thread.join(timeout=30)

    def remember(
        self, text: str, tags: list[str], key: str | None = None, task_id: str | None = None, source: str = "note"
    ) -> str:
        """Store text once per ``key`` (and once per content); publishes ``memory.stored`` when new."""
        try:
            item_id, created = self.engine.add(text, tags=tags, key=key, source=source)
        except BadMemoryInput as exc:
            raise CallFailed("bad_request", str(exc)) from exc
        if created:
            self.deps.bus.publish(
                MemoryStored(item_id=item_id, text=redact(text)[0], tags=tags),  # as stored: secrets redacted
                source=self.name,
                task_id=task_id,
                correlation_id=task_id,
            )
        return item_id

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, rerank: bool | None = None
    ) -> SearchResult:
        try:
            return self.engine.search(query, k=k, filters=filters, rerank=rerank)
        except BadMemoryInput as exc:
            raise CallFailed("bad_request", str(exc)) from exc

    def recall(self, query: str, limit: int = 5, tags: list[str] | None = None) -> list[dict[str, Any]]:
        """Hits for the agent's ``memory.recall``: text, provenance and why each matched."""
        result = self.search(query, k=limit, filters=Filters(tags=tuple(tags or ())))
        return [
            {
                "id": h.item_id,
                "text": h.text,
                "source": h.source,
                "uri": h.uri,
                "tags": h.tags,
                "score": round(h.scores.final, 3),
                "dense_rank": h.scores.dense_rank,
                "bm25_rank": h.scores.bm25_rank,
            }
            for h in result.hits
        ]

    def forget(
        self,
        item_ids: list[str] | None = None,
        filters: Filters | None = None,
        query: str | None = None,
        limit: int = 1,
        reason: str = "",
    ) -> ForgetReport:
        try:
            return self.engine.forget(item_ids or (), filters=filters, query=query, limit=limit, reason=reason)
        except BadMemoryInput as exc:
            raise CallFailed("bad_request", str(exc)) from exc

    def stats(self) -> MemoryStats:
        return self.engine.stats()

    def ingest(self, paths: list[str], tags: list[str] | None = None) -> str:
        """Start ingesting ``paths`` on a thread of its own; return the run id (progress goes on the bus)."""
        cancel = threading.Event()
        try:
            run = Ingestion(self.engine, paths, tags=tags or (), cancel=cancel)
        except BadMemoryInput as exc:
            raise CallFailed("bad_request", str(exc)) from exc
        run_id = run.report.run_id
        thread = threading.Thread(target=self._ingest, args=(run,), name=f"ingest-{run_id}", daemon=True)
        self._ingests[run_id] = (thread, cancel)
        thread.start()
        return run_id

    def _ingest(self, run: Ingestion) -> None:
        run_id = run.report.run_id
        error = ""
        report: IngestReport = run.report
        try:
            report = run.run()
        except (MemoryEngineError, OSError, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("memory_ingest_failed", run_id=run_id, error=error)
        finally:
            self.deps.bus.publish(MemoryIngestFinished(run_id=run_id, report=report, error=error), source=self.name)
            self._ingests.pop(run_id, None)
