"""The Executor: starts, cancels and resumes task runs (the agent loop in ``workflow``)."""

from __future__ import annotations

from greenroom.actors.base import CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.actors.workflow import TaskRun
from greenroom.bus.codec import read_envelopes
from greenroom.bus.protocol import TERMINAL_STATUSES


class ExecutorActor(GreenroomActor):
    name = "executor"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps

    def start_task(self, task_id: str, resumed: bool) -> bool:
        """Start (or resume) ``task_id`` on its own thread; False if it cannot run now."""
        deps = self.deps
        view = deps.tasks.get(task_id)
        if view is None or view.status in TERMINAL_STATUSES or deps.runs.is_running(task_id):
            return False
        history = read_envelopes(deps.bus.journal, task_id=task_id)
        return deps.runs.start(TaskRun(task_id, view.goal, deps, history, resumed))

    def cancel(self, task_id: str, reason: str) -> bool:
        """Stop a running task; it publishes ``task.cancelled``. False if it is not running."""
        return self.deps.runs.cancel(task_id, reason)
