"""The one timer: wakes once at the next due slot, however many schedules there are.

One thread waits on a condition until the armed wall-clock deadline. Waits run
on the monotonic clock, which stops while a laptop sleeps and ignores wall-clock
changes, so a wait never lasts longer than ``max_sleep_s``: on every wake the
wall clock is read again, and a deadline the wall clock has reached (after a
sleep, or a clock jump) fires then. Nothing polls per schedule; re-arming (when
schedules change) just moves the deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

DEFAULT_MAX_SLEEP_S = 300.0
_JUMP_S = 2.0


class WakeTimer:
    """Calls ``callback`` (on its own thread) once the wall clock reaches the armed time.

    Args:
        callback: what to call when due; it should re-arm (or not).
        clock: the wall clock (Unix seconds).
        max_sleep_s: longest wait before the wall clock is read again.
    """

    def __init__(
        self,
        callback: Callable[[], None],
        clock: Callable[[], float] = time.time,
        max_sleep_s: float = DEFAULT_MAX_SLEEP_S,
    ) -> None:
        self._callback = callback
        self._clock = clock
        self._max_sleep_s = max_sleep_s
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="schedule-timer", daemon=True)
        self.wakes = 0
        """How many times the thread woke (tests check it does not spin)."""

    def start(self) -> None:
        self._thread.start()

    def arm(self, at: float | None) -> None:
        """Wake at wall-clock time ``at`` (None: not at all), replacing any earlier arming."""
        with self._cond:
            self._deadline = at
            self._cond.notify()

    @property
    def deadline(self) -> float | None:
        with self._cond:
            return self._deadline

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                if self._deadline is None:
                    self._cond.wait()
                    continue
                wait = self._deadline - self._clock()
                if wait > 0:
                    self._sleep(min(wait, self._max_sleep_s))
                    continue
                self._deadline = None
            try:
                self._callback()
            except Exception:
                log.exception("schedule_timer_callback_failed")

    def _sleep(self, seconds: float) -> None:
        """Wait (lock held by the caller's condition) and notice a wall clock that moved differently."""
        wall, mono = self._clock(), time.monotonic()
        self._cond.wait(seconds)
        self.wakes += 1
        drift = (self._clock() - wall) - (time.monotonic() - mono)
        if abs(drift) > _JUMP_S:
            log.info("wall_clock_jumped", seconds=round(drift, 1))
