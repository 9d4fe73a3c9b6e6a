"""Watching folders for changes (watchfiles), debounced, on one thread.

watchfiles (Rust ``notify``: inotify, FSEvents, ...) groups changes: a batch is
handed over once no new change came for ``debounce_ms`` (and at the latest
after ten times that), so an editor's burst of writes is one batch. Hidden
files and folders, the configured ignore list and editor leftovers (swap and
backup files) are filtered out. Changing the set of folders restarts the one
watching thread. The OS watches are registered before ``watch`` returns (the
Rust watcher is built on the caller's thread), so no change made after it
returns is missed.

watchfiles is imported when a folder is first watched: a daemon with no watched
folder never loads it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    import watchfiles
    from watchfiles._rust_notify import RustNotify

log = structlog.get_logger(__name__)

Changes = dict[str, set[str]]
"""Changed paths by the watched root they lie under."""


class _Filter:
    """watchfiles' default filter, plus hidden entries below a root and ``memory.ignore``."""

    def __init__(self, roots: Sequence[str], ignore: Sequence[str]) -> None:
        import watchfiles

        self._default = watchfiles.DefaultFilter(ignore_dirs=(*watchfiles.DefaultFilter.ignore_dirs, *ignore))
        self.roots = roots

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if not self._default(change, path):
            return False
        root = owning_root(path, self.roots)
        if root is None:
            return False
        rel = os.path.relpath(path, root) if path != root else ""
        return not any(part.startswith(".") for part in Path(rel).parts)


def owning_root(path: str, roots: Iterable[str]) -> str | None:
    """The (longest) root that ``path`` is, or lies under."""
    best: str | None = None
    for root in roots:
        if (path == root or path.startswith(root.rstrip(os.sep) + os.sep)) and (best is None or len(root) > len(best)):
            best = root
    return best


class FolderWatcher:
    """Calls ``on_changes`` with each debounced batch of changes under the watched roots.

    Args:
        on_changes: called on the watching thread with the changed paths by root.
        debounce_ms: quiet time that ends a batch.
        ignore: directory names never watched into.
    """

    def __init__(
        self, on_changes: Callable[[Changes], None], *, debounce_ms: int = 300, ignore: Sequence[str] = ()
    ) -> None:
        self._on_changes = on_changes
        self._debounce_ms = max(10, debounce_ms)
        self._ignore = tuple(ignore)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.roots: tuple[str, ...] = ()

    def watch(self, roots: Iterable[str]) -> None:
        """Watch exactly ``roots`` from now on (restarts the watching thread)."""
        with self._lock:
            self._halt()
            self.roots = tuple(sorted(set(roots)))
            existing = [r for r in self.roots if Path(r).exists()]
            if not existing:
                return
            from watchfiles._rust_notify import RustNotify

            try:
                notify = RustNotify(existing, False, False, 300, True, True)
            except (OSError, RuntimeError) as exc:
                log.error("memory_watch_failed", roots=existing, error=f"{type(exc).__name__}: {exc}")
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(notify, existing, self._stop), name="memory-watch", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        with self._lock:
            self._halt()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None

    def _run(self, notify: RustNotify, roots: list[str], stop: threading.Event) -> None:
        import watchfiles

        log.info("memory_watch_started", roots=roots)
        watch_filter = _Filter(roots, self._ignore)
        try:
            with notify:
                while not stop.is_set():
                    raw = notify.watch(self._debounce_ms * 10, self._debounce_ms, 0, stop)
                    if isinstance(raw, str):  # "stop", or "signal"/"timeout", which end or repeat the wait
                        continue
                    changes: Changes = {}
                    for change, path in raw:
                        root = owning_root(path, roots)
                        if root is not None and watch_filter(watchfiles.Change(change), path):
                            changes.setdefault(root, set()).add(path)
                    if changes:
                        self._on_changes(changes)
        except Exception as exc:  # the OS refused a watch, a callback failed: say so, stop this thread
            log.error("memory_watch_failed", error=f"{type(exc).__name__}: {exc}")
