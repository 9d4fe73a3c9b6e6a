"""The Scheduler: admits submitted tasks, starts them now or at their time, resumes open ones.

It runs delayed one-shot tasks (``run_at``) and recurring schedules: the
schedule logic lives in ``greenroom.schedules``; this actor drives its
``Recurring`` (one timer, ``schedule_tick`` when due or when a schedule event
arrives), and admits the ``task.submitted`` events a schedule fires like any
other. It watches the bus for submissions and for tasks that end or wait for a
person (which frees a slot), and on start it reconciles with the task index,
so nothing submitted while it was restarting is lost.
"""

from __future__ import annotations

import threading
from collections import deque

import pykka
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
from greenroom.schedules import Recurring

log = structlog.get_logger(__name__)


class SchedulerActor(GreenroomActor):
    name = "scheduler"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps
        self._queue: deque[tuple[str, bool]] = deque()
        self._timers: dict[str, threading.Timer] = {}
        self._sub: Subscription | None = None
        self._recurring: Recurring | None = None

    def on_start(self) -> None:
        ref = self.actor_ref
        self._sub = self.deps.bus.subscribe(self.name, on_ready=lambda: ref.tell(WAKE))
        self.reconcile()
        self._start_recurring()

    def on_stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._recurring is not None:
            self._recurring.stop()
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
        tick = False
        for rec in self._sub.drain():
            env = rec.envelope
            match env.event:
                case TaskSubmitted(run_at=run_at):
                    assert env.task_id is not None
                    self._admit(env.task_id, run_at, resumed=False)
                case TaskFinished() | TaskFailed() | TaskCancelled() | TaskParked() | ConfirmationAsked():
                    pass  # a slot may have freed up
                case _:
                    pass
            if self._recurring is not None and self._recurring.relevant(env):
                tick = True
        if tick:
            self.schedule_tick()
        self._start_waiting()

    # -- recurring schedules (greenroom.schedules) -------------------------------------------

    def _start_recurring(self) -> None:
        deps, ref = self.deps, self.actor_ref
        if deps.schedules is None:
            return
        config = deps.schedule_config

        def wake() -> None:
            try:
                ref.tell(Call("schedule_tick"))
            except pykka.ActorDeadError:  # this instance is gone; the next one has its own timer
                if self._recurring is not None:
                    self._recurring.stop()

        self._recurring = Recurring(
            deps.bus, deps.schedules, deps.clock, wake,
            grace_s=config.grace_s if config else 60.0, max_sleep_s=config.max_sleep_s if config else 300.0,
        )  # fmt: skip
        self._recurring.start()

    def schedule_tick(self) -> list[str]:
        """Fire what is due now and re-arm the one timer; returns the task ids fired."""
        return [] if self._recurring is None else self._recurring.tick()

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
