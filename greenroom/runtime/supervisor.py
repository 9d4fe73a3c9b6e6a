"""Supervision of the actors: restart with backoff, crashes and restarts as events.

pykka has no supervision of its own (a failing ``tell`` stops the actor without
``on_stop``), so the runtime does it: an actor that crashes reports itself
(``GreenroomActor`` does), the supervisor publishes ``actor.crashed``, stops
that instance and starts a fresh one after an exponential backoff, then
publishes ``actor.restarted``. Calls made meanwhile wait for the new instance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pykka
import structlog

from greenroom.actors.base import ActorHandle, ActorUnavailableError, Message
from greenroom.bus.bus import Bus
from greenroom.bus.events import ActorCrashed, ActorRestarted

log = structlog.get_logger(__name__)

Factory = Callable[[], "pykka.ActorRef[Any]"]


class Supervisor:
    """Starts, restarts and stops named actors.

    Args:
        bus: where crash and restart events go.
        backoff_base: first restart delay (seconds); doubles per crash in a row.
        backoff_max: longest restart delay.
        calm_after: a crash this long after the previous one starts the backoff over.
    """

    def __init__(
        self,
        bus: Bus,
        *,
        backoff_base: float = 0.05,
        backoff_max: float = 5.0,
        calm_after: float = 60.0,
    ) -> None:
        self._bus = bus
        self._base = backoff_base
        self._max = backoff_max
        self._calm = calm_after
        self._factories: dict[str, Factory] = {}
        self._refs: dict[str, pykka.ActorRef[Any] | None] = {}
        self._crashes: dict[str, int] = {}
        self._last_crash: dict[str, float] = {}
        self._order: list[str] = []
        self._cond = threading.Condition()
        self._stopping = False

    def start(self, name: str, factory: Factory) -> None:
        """Start actor ``name`` from ``factory`` (also used for every restart)."""
        with self._cond:
            self._factories[name] = factory
            self._order.append(name)
        ref = factory()
        with self._cond:
            self._refs[name] = ref
            self._cond.notify_all()

    def handle(self, name: str) -> ActorHandle:
        return ActorHandle(name, self.resolve)

    def resolve(self, name: str, timeout: float | None) -> pykka.ActorRef[Any]:
        """The current ref of ``name``, waiting up to ``timeout`` while it restarts."""
        with self._cond:
            if name not in self._factories:
                raise ActorUnavailableError(f"no actor named {name!r}")
            ok = self._cond.wait_for(lambda: self._stopping or self._refs.get(name) is not None, timeout)
            ref = self._refs.get(name)
            if self._stopping or ref is None:
                raise ActorUnavailableError(
                    f"{name} is not running" + ("" if ok else f" (waited {timeout}s for a restart)")
                )
            return ref

    def status(self) -> dict[str, str]:
        with self._cond:
            return {n: ("running" if self._refs.get(n) is not None else "restarting") for n in self._order}

    def crashed(self, name: str, exc: BaseException, ref: pykka.ActorRef[Any], message: Message | None = None) -> None:
        """Called by a crashing actor (on its own thread), with the message it crashed on.

        The crash is journaled against the message's task and key, so the Executor can
        send that request again or, when it keeps crashing, fail just that task.
        """
        now = time.monotonic()
        with self._cond:
            if self._stopping or self._refs.get(name) is not ref:
                return  # a stale instance, or shutting down
            if now - self._last_crash.get(name, -1e9) > self._calm:
                self._crashes[name] = 0
            self._crashes[name] = crashes = self._crashes.get(name, 0) + 1
            self._last_crash[name] = now
            self._refs[name] = None
        delay = min(self._max, self._base * 2 ** (crashes - 1))
        self._bus.publish(
            ActorCrashed(
                actor=name,
                error=f"{type(exc).__name__}: {exc}",
                restart_in_s=round(delay, 3),
                crashes=crashes,
                request=message.key if message is not None else "",
            ),
            source="supervisor",
            task_id=message.task_id if message is not None else None,
            correlation_id=message.task_id if message is not None else None,
        )
        ref.stop(block=False)
        timer = threading.Timer(delay, self._restart, (name, crashes))
        timer.daemon = True
        timer.start()

    def _restart(self, name: str, attempt: int) -> None:
        with self._cond:
            if self._stopping:
                return
            factory = self._factories[name]
        try:
            ref = factory()
        except Exception as exc:
            log.exception("actor_restart_failed", actor=name)
            self.crashed_on_start(name, exc, attempt)
            return
        with self._cond:
            self._refs[name] = ref
            self._cond.notify_all()
        self._bus.publish(ActorRestarted(actor=name, attempt=attempt), source="supervisor")
        log.info("actor_restarted", actor=name, attempt=attempt)

    def crashed_on_start(self, name: str, exc: BaseException, attempt: int) -> None:
        delay = min(self._max, self._base * 2**attempt)
        self._bus.publish(
            ActorCrashed(
                actor=name,
                error=f"{type(exc).__name__}: {exc}",
                restart_in_s=delay,
                crashes=attempt + 1,
            ),
            source="supervisor",
        )
        timer = threading.Timer(delay, self._restart, (name, attempt + 1))
        timer.daemon = True
        timer.start()

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every actor, callers first (reverse start order)."""
        with self._cond:
            self._stopping = True
            refs = [(n, self._refs.get(n)) for n in reversed(self._order)]
            self._cond.notify_all()
        for name, ref in refs:
            if ref is None:
                continue
            try:
                ref.stop(block=True, timeout=timeout)
            except pykka.Timeout:
                log.warning("actor_stop_timeout", actor=name)
