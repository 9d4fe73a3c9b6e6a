"""Folders kept indexed: the Memory actor's watch list and what it does on a change.

The list is journaled (``memory.watch.added`` / ``memory.watch.removed``) and
folded again on every start, so watches persist across restarts. On start,
and when a folder is added, it is ingested once (incrementally: only files
changed since the last ingest are read, so changes made while the daemon was
down are picked up); after that each debounced batch of changes is ingested
through the Memory actor's ordinary ingest — only the changed paths, so only
they are re-read (a deleted file is forgotten). Watch-triggered runs have ids
starting with ``w-``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import structlog

from greenroom.actors.base import CallFailed
from greenroom.actors.deps import ActorDeps
from greenroom.bus.codec import read_envelopes
from greenroom.bus.events import MemoryWatchAdded, MemoryWatchRemoved
from greenroom.bus.protocol import WatchView
from greenroom.memory import BadMemoryInput
from greenroom.memory.watch import Changes, FolderWatcher

log = structlog.get_logger(__name__)

WATCH_EVENT_TYPES = ("memory.watch.added", "memory.watch.removed")
MAX_WATCHES = 100

Ingest = Callable[[list[str], list[str], str], str]
"""``ingest(paths, tags, run_prefix) -> run id``: the Memory actor's ingest."""


def load_watches(deps: ActorDeps) -> dict[str, list[str]]:
    """Watched paths and their tags, folded from the journal."""
    watches: dict[str, list[str]] = {}
    start = 1
    while envs := read_envelopes(deps.bus.journal, start, types=WATCH_EVENT_TYPES, limit=5000):
        for env in envs:
            match env.event:
                case MemoryWatchAdded(path=path, tags=tags):
                    watches[path] = list(tags)
                case MemoryWatchRemoved(path=path):
                    watches.pop(path, None)
                case _:
                    pass
        start = envs[-1].seq + 1
    return watches


class WatchKeeper:
    """Keeps watched folders indexed.

    Args:
        deps: the actors' shared dependencies (bus, memory engine, config).
        ingest: starts an ingest run on the Memory actor.
        on_changes: receives each batch of changes (on the watching thread); the
            Memory actor passes one that tells itself, so ingests start on its thread.
    """

    def __init__(self, deps: ActorDeps, ingest: Ingest, on_changes: Callable[[Changes], None]) -> None:
        self.deps = deps
        self._ingest = ingest
        self._lock = threading.Lock()
        self._watches: dict[str, list[str]] = {}
        config = deps.memory.config
        self._watcher = FolderWatcher(on_changes, debounce_ms=config.watch_debounce_ms, ignore=config.ignore)

    def start(self) -> None:
        """Fold the journaled watches, start watching, catch up on changes made while down."""
        with self._lock:
            self._watches = load_watches(self.deps)
            self._watcher.watch(self._watches)
            watches = dict(self._watches)
        for path, tags in watches.items():
            self._start_ingest([path], tags)

    def close(self) -> None:
        self._watcher.close()

    def views(self) -> list[WatchView]:
        with self._lock:
            return [WatchView(path=p, tags=t) for p, t in sorted(self._watches.items())]

    def add(self, paths: list[str], tags: list[str]) -> list[WatchView]:
        """Watch ``paths`` (absolute, existing) and ingest them now.

        Raises:
            BadMemoryInput: a path is relative, missing, or too many are watched.
        """
        roots = [_check(path) for path in paths]
        if not roots:
            raise BadMemoryInput("nothing to watch: no paths given")
        with self._lock:
            new = [r for r in dict.fromkeys(roots) if self._watches.get(r) != list(tags)]
            if len(set(self._watches) | set(new)) > MAX_WATCHES:
                raise BadMemoryInput(f"at most {MAX_WATCHES} folders can be watched")
            for root in new:
                self.deps.bus.publish(MemoryWatchAdded(path=root, tags=list(tags)), source="memory", durable=True)
                self._watches[root] = list(tags)
            if new:
                self._watcher.watch(self._watches)
        if new:
            self._start_ingest(new, list(tags))
        return self.views()

    def remove(self, path: str) -> int:
        """Stop watching ``path`` (what was ingested stays in memory); returns the event's seq.

        Raises:
            BadMemoryInput: it is not watched.
        """
        with self._lock:
            if path not in self._watches:
                raise BadMemoryInput(f"{path} is not watched")
            env = self.deps.bus.publish(MemoryWatchRemoved(path=path), source="memory", durable=True)
            del self._watches[path]
            self._watcher.watch(self._watches)
        return env.seq

    def changed(self, changes: Changes) -> None:
        """Ingest a batch of changed paths (only those), with their watch's tags."""
        store = self.deps.memory.store
        for root, paths in changes.items():
            with self._lock:
                tags = self._watches.get(root)
            if tags is None:
                continue  # unwatched meanwhile
            # A path that is gone and was never ingested (an editor's temp file) has nothing to do.
            todo = sorted(p for p in paths if Path(p).exists() or store.items_under(p))
            if todo:
                log.info("memory_watch_changed", root=root, paths=len(todo))
                self._start_ingest(todo, tags)

    def _start_ingest(self, paths: list[str], tags: list[str]) -> None:
        try:
            self._ingest(paths, tags, "w-")
        except (BadMemoryInput, CallFailed) as exc:
            log.warning("memory_watch_ingest_refused", paths=paths[:5], error=str(exc))


def _check(path: str) -> str:
    if not path or "\x00" in path or len(path) > 4096:
        raise BadMemoryInput("a watched path must be a non-empty path without NUL bytes")
    p = Path(path)
    if not p.is_absolute():
        raise BadMemoryInput(f"watched paths must be absolute: {path}")
    resolved = p.resolve()
    if not resolved.exists():
        raise BadMemoryInput(f"no such file or folder: {resolved}")
    if resolved == Path(resolved.anchor):
        raise BadMemoryInput("refusing to watch the whole file system; name a folder")
    return str(resolved)
