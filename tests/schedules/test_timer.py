"""The one wake timer."""

from __future__ import annotations

import threading
import time

from greenroom.schedules import WakeTimer
from tests.conftest import wait_for


class TestWakeTimer:
    def test_fires_at_the_armed_time_and_rearming_moves_it(self) -> None:
        """Arming replaces the deadline; the callback runs once the wall clock reaches it."""
        fired = threading.Event()
        timer = WakeTimer(fired.set, max_sleep_s=60)
        timer.start()
        try:
            timer.arm(time.time() + 3600)
            timer.arm(time.time() + 0.05)
            assert fired.wait(10)
            assert timer.deadline is None
        finally:
            timer.stop()

    def test_wall_clock_jump_is_noticed_on_the_next_wake(self) -> None:
        """With the wall clock frozen nothing fires; when it jumps past the deadline the timer fires."""
        now = [1_000.0]
        calls: list[float] = []
        timer = WakeTimer(lambda: calls.append(now[0]), clock=lambda: now[0], max_sleep_s=0.02)
        timer.start()
        try:
            timer.arm(2_000.0)
            wait_for(lambda: timer.wakes >= 3)
            assert calls == []
            now[0] = 5_000.0  # the laptop slept, or the clock was set
            wait_for(lambda: calls)
            assert calls == [5_000.0]
        finally:
            timer.stop()

    def test_unarmed_timer_sleeps(self) -> None:
        """Without a deadline the thread waits without waking; stop ends it."""
        timer = WakeTimer(lambda: None, max_sleep_s=0.01)
        timer.start()
        timer.arm(None)
        timer.stop()
        assert timer.wakes == 0
        assert not timer._thread.is_alive()
