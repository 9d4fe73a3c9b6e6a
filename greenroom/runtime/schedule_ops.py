"""The schedule operations clients ask for: validate, then journal.

Each change is one durable ``schedule.*`` event; the schedule index folds it
and the Scheduler, which sees it on the bus, recomputes its one timer.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from greenroom.bus.bus import Bus
from greenroom.bus.events import ScheduleAdded, SchedulePaused, ScheduleRemoved, ScheduleResumed
from greenroom.bus.protocol import ScheduleAdd, ScheduleView
from greenroom.runtime.errors import RequestError
from greenroom.schedules import BadSchedule, Recurrence, ScheduleConfig, ScheduleIndex, fire, recurrence, zone

SOURCE = "gateway"
MAX_GOAL_CHARS = 8000


def local_zone_name() -> str:
    """This machine's IANA zone name: ``$TZ``, else where ``/etc/localtime`` points, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        try:
            if name:
                zone(name)
                return name
        except BadSchedule:
            continue
    return "UTC"


class ScheduleOps:
    """Add, pause, resume, remove, run and read schedules.

    Args:
        bus: where schedule events are journaled.
        index: the schedule index.
        config: the ``[schedules]`` settings.
        clock: the wall clock (the Scheduler's).
    """

    def __init__(self, bus: Bus, index: ScheduleIndex, config: ScheduleConfig, clock: Callable[[], float]) -> None:
        self.bus = bus
        self.index = index
        self.config = config
        self.clock = clock

    def add(self, req: ScheduleAdd, client: str = "") -> ScheduleView:
        goal = req.goal.strip()
        if not goal or len(goal) > MAX_GOAL_CHARS:
            raise RequestError("bad_request", f"goal must be 1..{MAX_GOAL_CHARS} characters")
        max_failures = self.config.max_failures if req.max_failures is None else req.max_failures
        if not 0 <= max_failures <= 1000:
            raise RequestError("bad_request", f"max_failures must be 0..1000, got {max_failures}")
        live = sum(1 for v in self.index.all() if v.status != "removed")
        if live >= self.config.max_schedules:
            raise RequestError("conflict", f"there are already {live} schedules (schedules.max_schedules)")
        now = self.clock()
        tz = req.tz or local_zone_name()
        start = req.start if req.start is not None else now
        try:
            Recurrence(cron=req.cron, every_s=req.every_s, tz=tz, start=start if req.every_s else 0.0)
        except BadSchedule as exc:
            raise RequestError("bad_request", str(exc)) from exc
        schedule_id = "s-" + uuid.uuid4().hex[:8]
        self.bus.publish(
            ScheduleAdded(
                schedule_id=schedule_id, goal=goal, cron=" ".join(req.cron.split()), every_s=req.every_s, tz=tz,
                catch_up=req.catch_up, start=start if req.every_s else 0.0, max_failures=max_failures, at=now,
                client=client,
            ),
            source=SOURCE, correlation_id=schedule_id, durable=True,
        )  # fmt: skip
        return self.show(schedule_id)

    def _live(self, schedule_id: str) -> ScheduleView:
        view = self.index.get(schedule_id)
        if view is None or view.status == "removed":
            raise RequestError("not_found", f"no schedule {schedule_id!r}")
        return view

    def show(self, schedule_id: str) -> ScheduleView:
        view = self.index.get(schedule_id)
        if view is None:
            raise RequestError("not_found", f"no schedule {schedule_id!r}")
        return self._with_next(view)

    def views(self, removed: bool = False) -> list[ScheduleView]:
        return [self._with_next(v) for v in self.index.all() if removed or v.status != "removed"]

    def _with_next(self, view: ScheduleView) -> ScheduleView:
        if view.status == "active":
            try:
                view.next_slots = recurrence(view).upcoming(max(view.cursor, self.clock()), 3)
            except BadSchedule:
                view.next_slots = []
        return view

    def pause(self, schedule_id: str, client: str = "") -> int:
        view = self._live(schedule_id)
        if view.status == "paused":
            raise RequestError("conflict", f"schedule {schedule_id} is already paused")
        event = SchedulePaused(schedule_id=schedule_id, reason=f"paused by {client or 'a client'}", at=self.clock())
        return self.bus.publish(event, source=SOURCE, correlation_id=schedule_id, durable=True).seq

    def resume(self, schedule_id: str) -> int:
        view = self._live(schedule_id)
        if view.status != "paused":
            raise RequestError("conflict", f"schedule {schedule_id} is not paused")
        event = ScheduleResumed(schedule_id=schedule_id, at=self.clock())
        return self.bus.publish(event, source=SOURCE, correlation_id=schedule_id, durable=True).seq

    def remove(self, schedule_id: str) -> int:
        self._live(schedule_id)
        event = ScheduleRemoved(schedule_id=schedule_id, at=self.clock())
        return self.bus.publish(event, source=SOURCE, correlation_id=schedule_id, durable=True).seq

    def run_now(self, schedule_id: str) -> tuple[str, int]:
        """Submit the schedule's goal now (no slot: the schedule's cursor does not move)."""
        view = self._live(schedule_id)
        env = fire(self.bus, schedule_id, view.goal, None)
        return env.task_id or "", env.seq
