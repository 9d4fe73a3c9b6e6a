"""The Scheduler: admits submitted tasks, starts them now or at their time, resumes open ones.

A task starts when the Scheduler publishes its ``task.started`` (the Executor
acts on that event): at once while fewer than ``agent.max_concurrent_tasks``
tasks run (one waiting for a person does not count), else when a slot frees up.
Delayed one-shot tasks (``run_at``) wait on one timer for the earliest of them.
At daemon start, ``ResumeOpen`` resumes every task that had started (each gets a
new ``task.started`` with ``resumed``). Recurring schedules live in
``greenroom.schedules``: this actor drives their ``Recurring`` (one timer;
``ScheduleTick`` when due or when a schedule event arrives), and admits the
``task.submitted`` a schedule fires like any other.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pykka
import structlog
from typing_extensions import assert_never

from greenroom.actors.base import CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import Pending, ResumeOpen, SchedulerMessage, ScheduleTick, Tick, Wake
from greenroom.bus.bus import Subscription
from greenroom.bus.events import TaskStarted, TaskSubmitted
from greenroom.bus.protocol import TERMINAL_STATUSES
from greenroom.schedules import Recurring
from greenroom.schedules.timer import WakeTimer

log = structlog.get_logger(__name__)


class SchedulerActor(GreenroomActor):
    name = "scheduler"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps
        self._queue: deque[str] = deque()
        self._delayed: dict[str, float] = {}
        self._timer: WakeTimer | None = None
        self._sub: Subscription | None = None
        self._recurring: Recurring | None = None

    def on_start(self) -> None:
        ref = self.actor_ref
        self._sub = self.deps.bus.subscribe(self.name, on_ready=lambda: ref.tell(Wake()))
        for view in self.deps.tasks.open_tasks():  # submitted while no Scheduler ran
            if view.status == "pending":
                self._admit(view.task_id, view.run_at)
        self._start_recurring()
        self._start_waiting()

    def on_stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._recurring is not None:
            self._recurring.stop()
        if self._timer is not None:
            self._timer.stop()

    def handle(self, message: SchedulerMessage) -> Any:
        match message:
            case Wake():
                self._drain()
            case Tick():
                self._due()
            case ScheduleTick():
                self.schedule_tick()
            case Pending():
                return [*self._queue, *self._delayed]
            case ResumeOpen():
                return self._resume_open()
            case _:
                assert_never(message)
        return None

    def _drain(self) -> None:
        assert self._sub is not None
        tick = False
        for rec in self._sub.drain():
            env = rec.envelope
            if isinstance(env.event, TaskSubmitted) and env.task_id is not None:
                self._admit(env.task_id, env.event.run_at)
            if self._recurring is not None and self._recurring.relevant(env):
                tick = True
        if tick:
            self.schedule_tick()
        self._start_waiting()  # a task that ended or now waits for a person frees its slot

    def _resume_open(self) -> int:
        """Daemon start: every task that had started goes on where it was."""
        resumed = 0
        for view in self.deps.tasks.open_tasks():
            if view.status != "pending":
                self._start(view.task_id, resumed=True)
                resumed += 1
        return resumed

    # -- admission -------------------------------------------------------------------------

    def _admit(self, task_id: str, run_at: float | None) -> None:
        if task_id in self._queue or task_id in self._delayed:
            return
        if run_at is not None and run_at > self.deps.clock():
            self._delayed[task_id] = run_at
            log.info("task_scheduled", task_id=task_id, in_s=round(run_at - self.deps.clock(), 3))
            self._arm()
            return
        self._queue.append(task_id)

    def _arm(self) -> None:
        """One timer for the earliest delayed task."""
        if self._timer is None:
            ref = self.actor_ref

            def due() -> None:
                _tell(ref, Tick())

            self._timer = WakeTimer(due, self.deps.clock)
            self._timer.start()
        self._timer.arm(min(self._delayed.values(), default=None))

    def _due(self) -> None:
        now = self.deps.clock()
        for task_id, at in sorted(self._delayed.items(), key=lambda item: item[1]):
            if at <= now:
                del self._delayed[task_id]
                self._queue.append(task_id)
        self._arm()
        self._start_waiting()

    def _start_waiting(self) -> None:
        deps = self.deps
        while self._queue and deps.tasks.counts().get("running", 0) < deps.agent.max_concurrent_tasks:
            task_id = self._queue.popleft()
            view = deps.tasks.get(task_id)
            if view is None or view.status != "pending":
                continue  # cancelled meanwhile, or started already
            self._start(task_id, resumed=False)

    def _start(self, task_id: str, *, resumed: bool) -> None:
        view = self.deps.tasks.get(task_id)
        if view is None or view.status in TERMINAL_STATUSES:
            return
        self.deps.bus.publish(
            TaskStarted(resumed=resumed),
            source=self.name,
            task_id=task_id,
            causation_id=view.last_seq,
            correlation_id=task_id,
            durable=True,  # the task index counts it before the next admission
        )

    # -- recurring schedules (greenroom.schedules) -----------------------------------------

    def _start_recurring(self) -> None:
        deps, ref = self.deps, self.actor_ref
        if deps.schedules is None:
            return
        config = deps.schedule_config

        def wake() -> None:
            if not _tell(ref, ScheduleTick()) and self._recurring is not None:
                self._recurring.stop()  # this instance is gone; the next one has its own timer

        self._recurring = Recurring(
            deps.bus, deps.schedules, deps.clock, wake,
            grace_s=config.grace_s if config else 60.0, max_sleep_s=config.max_sleep_s if config else 300.0,
        )  # fmt: skip
        self._recurring.start()

    def schedule_tick(self) -> list[str]:
        """Fire what is due now and re-arm the one timer; returns the task ids fired."""
        return [] if self._recurring is None else self._recurring.tick()


def _tell(ref: pykka.ActorRef[Any], message: Any) -> bool:
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        return False
    return True
