"""The Scheduler: admits submitted tasks, starts them now or at their time, resumes open ones.

For now it supports delayed one-shot tasks (``run_at``); recurring schedules
come later. It watches the bus for submissions and for tasks that end or wait
for a person (which frees a slot), and on start it reconciles with the task
index, so nothing submitted while it was restarting is lost.
"""

from __future__ import annotations

import threading
from collections import deque

import structlog

from greenroom.actors.base import WAKE, Call, CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.bus.bus import Subscription
from greenroom.bus.events import (
    ConfirmationAsked,
    TaskCancelled,
    TaskFailed,
    TaskFinished,
    TaskParked,
    TaskSubmitted,
)
from greenroom.bus.protocol import TERMINAL_STATUSES

log = structlog.get_logger(__name__)


class SchedulerActor(GreenroomActor):
    name = "scheduler"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps
        self._queue: deque[tuple[str, bool]] = deque()
        self._timers: dict[str, threading.Timer] = {}
        self._sub: Subscription | None = None

    def on_start(self) -> None:
        ref = self.actor_ref
        self._sub = self.deps.bus.subscribe(self.name, on_ready=lambda: ref.tell(WAKE))
        self.reconcile()

    def on_stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        for timer in self._timers.values():
            timer.cancel()

    def reconcile(self) -> None:
        """Admit every open task that is not running (start-up, restart)."""
        for view in self.deps.tasks.open_tasks():
            if not self.deps.runs.is_running(view.task_id):
                self._admit(view.task_id, view.run_at, resumed=view.status != "pending")
        self._start_waiting()

    def on_wake(self) -> None:
        assert self._sub is not None
        for rec in self._sub.drain():
            env = rec.envelope
            match env.event:
                case TaskSubmitted(run_at=run_at):
                    assert env.task_id is not None
                    self._admit(env.task_id, run_at, resumed=False)
                case TaskFinished() | TaskFailed() | TaskCancelled() | TaskParked() | ConfirmationAsked():
                    pass  # a slot may have freed up
                case _:
                    continue
        self._start_waiting()

    def _admit(self, task_id: str, run_at: float | None, *, resumed: bool) -> None:
        if any(t == task_id for t, _ in self._queue) or task_id in self._timers:
            return
        delay = 0.0 if run_at is None else run_at - self.deps.clock()
        if delay > 0:
            ref = self.actor_ref
            timer = threading.Timer(delay, lambda: ref.tell(Call("due", (task_id,))))
            timer.daemon = True
            self._timers[task_id] = timer
            timer.start()
            log.info("task_scheduled", task_id=task_id, in_s=round(delay, 3))
            return
        self._queue.append((task_id, resumed))

    def due(self, task_id: str) -> None:
        """A delayed task's time has come."""
        self._timers.pop(task_id, None)
        self._queue.append((task_id, False))
        self._start_waiting()

    def _start_waiting(self) -> None:
        deps = self.deps
        assert deps.handles is not None
        while self._queue and deps.runs.active() < deps.agent.max_concurrent_tasks:
            task_id, resumed = self._queue.popleft()
            view = deps.tasks.get(task_id)
            if view is None or view.status in TERMINAL_STATUSES or deps.runs.is_running(task_id):
                continue
            started = deps.handles.executor.ask("start_task", task_id, resumed)
            if not started:
                log.info("task_not_started", task_id=task_id)

    def pending(self) -> list[str]:
        return [t for t, _ in self._queue] + list(self._timers)
