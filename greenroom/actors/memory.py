"""The Memory actor: the one owner of the memory engine (and so of its single BM25 writer).

Searches and single adds run on the actor's thread. An ingest runs on a thread
of its own (it can take minutes) while searches go on; the engine serialises
its writes. Stopping the actor cancels running ingests after their current file.
These threads run at a lower CPU priority (``[memory] nice``).
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

import pykka
import structlog
from typing_extensions import assert_never

from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.actors.memory_watch import WatchKeeper
from greenroom.actors.messages import (
    Forget,
    Ingest,
    MemoryMessage,
    Recall,
    Remember,
    Search,
    StartIngest,
    Stats,
    Store,
    Unwatch,
    Watch,
    WatchChanged,
    Watches,
)
from greenroom.actors.priority import lower_thread_priority
from greenroom.bus.events import MemoryIngestFinished, MemoryStored
from greenroom.bus.memory_records import ForgetReport, IngestReport, MemoryStats, SearchResult
from greenroom.bus.protocol import WatchView
from greenroom.memory import BadMemoryInput, Filters, MemoryEngineError
from greenroom.policy.guards import redact

if TYPE_CHECKING:
    from greenroom.memory import Ingestion

log = structlog.get_logger(__name__)


class MemoryActor(GreenroomActor):
    name = "memory"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps
        self._ingests: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._watches: WatchKeeper | None = None

    @property
    def engine(self) -> Any:
        return self.deps.memory

    def on_start(self) -> None:
        # Embedding, indexing and loading the embedder (seconds of imports) are background work:
        # at a lower priority they leave the cores to the timeline while tasks run.
        lower_thread_priority(self.deps.memory.config.nice)
        ref = self.actor_ref

        def on_changes(changes: dict[str, set[str]]) -> None:
            try:
                ref.tell(WatchChanged(changes=changes))
            except pykka.ActorDeadError:  # this instance is gone; its successor watches anew
                if self._watches is not None:
                    self._watches.close()

        self._watches = WatchKeeper(self.deps, self.ingest, on_changes)
        self._watches.start()

    def on_stop(self) -> None:
        if self._watches is not None:
            self._watches.close()
        for thread, cancel in list(self._ingests.values()):
            cancel.set()
            thread.join(timeout=30)

    def handle(self, message: MemoryMessage) -> Any:
        match message:
            case Remember(text=text, tags=tags, dedupe_key=key, source=source):
                return self.remember(text, tags, key, message.task_id, source)
            case Store(text=text, tags=tags, dedupe_key=key, source=source, uri=uri):
                if self.deps.cancellations.stopping.is_set():
                    log.info("memory_store_skipped", reason="daemon stopping", source=source, key=key)
                    return None  # the engine closes right after the actors stop
                try:
                    self.remember(text, tags, key, message.task_id, source, uri)
                except CallFailed as exc:  # told, not asked: nobody waits for the error
                    log.warning("memory_store_refused", error=str(exc), source=source)
                return None
            case Search(query=query, k=k, filters=filters, rerank=rerank):
                return self.search(query, k, filters, rerank)
            case Recall(query=query, limit=limit, tags=tags):
                return self.recall(query, limit, tags)
            case Forget(item_ids=ids, filters=filters, query=query, limit=limit, reason=reason, keep=keep):
                return self.forget(ids, filters, query, limit, reason, keep)
            case Stats():
                return self.stats()
            case Ingest(paths=paths, tags=tags, run_prefix=prefix):
                return self.ingest(paths, tags, prefix)
            case StartIngest(paths=paths, tags=tags, run_id=run_id):
                try:
                    self.ingest(paths, tags, run_id=run_id)
                except CallFailed as exc:  # told: whoever waits for the run learns it from its finished event
                    report = IngestReport(run_id=run_id)
                    self.deps.bus.publish(
                        MemoryIngestFinished(run_id=run_id, report=report, error=str(exc)), source=self.name
                    )
                return None
            case Watch(paths=paths, tags=tags):
                return self.watch(paths, tags)
            case Unwatch(path=path):
                return self.unwatch(path)
            case Watches():
                return self.watches()
            case WatchChanged(changes=changes):
                self.watch_changed(changes)
                return None
            case _:
                assert_never(message)

    def remember(
        self,
        text: str,
        tags: list[str],
        key: str | None = None,
        task_id: str | None = None,
        source: str = "note",
        uri: str | None = None,
    ) -> str:
        """Store text once per ``key`` (and once per content); publishes ``memory.stored`` when new."""
        try:
            item_id, created = self.engine.add(text, tags=tags, key=key, source=source, uri=uri)
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
        keep: list[str] | None = None,
    ) -> ForgetReport:
        try:
            return self.engine.forget(
                item_ids or (), filters=filters, query=query, limit=limit, reason=reason, keep=keep or ()
            )
        except BadMemoryInput as exc:
            raise CallFailed("bad_request", str(exc)) from exc

    def stats(self) -> MemoryStats:
        return self.engine.stats()

    def ingest(self, paths: list[str], tags: list[str] | None = None, run_prefix: str = "i-", run_id: str = "") -> str:
        """Start ingesting ``paths`` on a thread of its own; return the run id (progress goes on the bus)."""
        from greenroom.memory import Ingestion  # with its file readers: not needed until an ingest

        cancel = threading.Event()
        try:
            run_id = run_id or run_prefix + uuid.uuid4().hex[:8]
            run = Ingestion(self.engine, paths, tags=tags or (), cancel=cancel, run_id=run_id)
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

    # -- watched folders (actors/memory_watch.py) --------------------------------------------

    def watch(self, paths: list[str], tags: list[str]) -> list[WatchView]:
        assert self._watches is not None
        try:
            return self._watches.add(paths, tags)
        except BadMemoryInput as exc:
            raise CallFailed("bad_request", str(exc)) from exc

    def unwatch(self, path: str) -> int:
        assert self._watches is not None
        try:
            return self._watches.remove(path)
        except BadMemoryInput as exc:
            raise CallFailed("not_found", str(exc)) from exc

    def watches(self) -> list[WatchView]:
        assert self._watches is not None
        return self._watches.views()

    def watch_changed(self, changes: dict[str, set[str]]) -> None:
        """A debounced batch of changes under watched folders: ingest just those paths."""
        if self._watches is not None:
            self._watches.changed(changes)
