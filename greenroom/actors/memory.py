"""The Memory actor: the one owner of the memory store."""

from __future__ import annotations

from typing import Any

from greenroom.actors.base import CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.bus.events import MemoryStored


class MemoryActor(GreenroomActor):
    name = "memory"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps

    def remember(self, text: str, tags: list[str], key: str, task_id: str | None = None) -> str:
        """Store a note once per ``key``; publishes ``memory.stored`` when new."""
        store = self.deps.memory_store
        item_id, created = store.remember(text, tags, key)
        if created:
            stored = store.get(item_id)
            self.deps.bus.publish(
                MemoryStored(item_id=item_id, text=stored["text"] if stored else "", tags=tags),
                source=self.name,
                task_id=task_id,
                correlation_id=task_id,
            )
        return item_id

    def recall(self, query: str, limit: int = 5) -> list[dict[str, Any]]:
        return self.deps.memory_store.recall(query, limit)

    def forget(self, item_id: str) -> bool:
        return self.deps.memory_store.forget(item_id)

    def count(self) -> int:
        return self.deps.memory_store.count()
