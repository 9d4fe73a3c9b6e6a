"""The running tasks: their threads, cancel flags and confirmation waiters.

Owned by the runtime (not by the Executor actor) so that a restarted Executor
finds the runs its predecessor started.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from greenroom.actors.workflow import TaskRun

log = structlog.get_logger(__name__)


class Waiter:
    """One pending confirmation: set once with the person's answer."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.approved = False

    def set(self, approved: bool) -> None:
        self.approved = approved
        self._event.set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


class RunRegistry:
    """Task runs by task id, each on its own thread."""

    def __init__(self) -> None:
        self._runs: dict[str, TaskRun] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._waiters: dict[str, Waiter] = {}
        self._lock = threading.Lock()
        self.parking = threading.Event()
        """Set when the daemon stops: runs stop where they are, to resume at the next start."""

    def start(self, run: TaskRun) -> bool:
        """Start ``run`` on its own thread; False if that task is already running."""
        with self._lock:
            if run.task_id in self._runs or self.parking.is_set():
                return False
            self._runs[run.task_id] = run
            thread = threading.Thread(target=run.run, name=f"task-{run.task_id}", daemon=True)
            self._threads[run.task_id] = thread
            # Started under the lock, so park_all never sees a thread it cannot join yet.
            thread.start()
        return True

    def done(self, task_id: str) -> None:
        with self._lock:
            self._runs.pop(task_id, None)
            self._threads.pop(task_id, None)

    def is_running(self, task_id: str) -> bool:
        with self._lock:
            return task_id in self._runs

    def active(self) -> int:
        """Runs that hold a slot: running, not waiting for a person."""
        with self._lock:
            return sum(1 for r in self._runs.values() if not r.waiting)

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)

    def cancel(self, task_id: str, reason: str) -> bool:
        with self._lock:
            run = self._runs.get(task_id)
        if run is None:
            return False
        run.request_cancel(reason)
        return True

    def waiter(self, confirmation_id: str) -> Waiter:
        with self._lock:
            return self._waiters.setdefault(confirmation_id, Waiter())

    def drop_waiter(self, confirmation_id: str) -> None:
        with self._lock:
            self._waiters.pop(confirmation_id, None)

    def answer(self, confirmation_id: str, approved: bool) -> bool:
        """Wake the run waiting on ``confirmation_id``; False if none is waiting."""
        with self._lock:
            waiter = self._waiters.get(confirmation_id)
        if waiter is None:
            return False
        waiter.set(approved)
        return True

    def park_all(self, timeout: float = 10.0) -> None:
        """Stop every run where it is (it resumes from the journal at the next start)."""
        self.parking.set()
        with self._lock:
            runs = list(self._runs.values())
            threads = list(self._threads.values())
        for run in runs:
            run.stop.set()
        for thread in threads:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("task_did_not_park", thread=thread.name)
