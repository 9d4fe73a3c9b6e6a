"""Background threads give way: the Memory actor's thread runs at a lower CPU priority, others keep theirs."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from greenroom.actors.priority import MAX_NICE, lower_thread_priority
from greenroom.memory.settings import MemoryConfig
from tests.conftest import make_config, wait_for

linux = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")


def _nice(native_id: int | None) -> int:
    assert native_id is not None
    return os.getpriority(os.PRIO_PROCESS, native_id)


def _in_thread(increment: int) -> tuple[bool, int, int]:
    """Lower a fresh thread's priority; what it returned, its nice before, and after."""
    out: list[Any] = []

    def run() -> None:
        before = _nice(threading.get_native_id())
        out.extend((lower_thread_priority(increment), before, _nice(threading.get_native_id())))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    return out[0], out[1], out[2]


@linux
class TestLowerThreadPriority:
    def test_only_the_calling_thread_gets_nicer(self) -> None:
        """The thread that asks is niced by the increment; the thread that started it is not."""
        mine = _nice(threading.get_native_id())
        changed, before, after = _in_thread(3)
        assert changed
        assert after == min(MAX_NICE, before + 3)
        assert _nice(threading.get_native_id()) == mine

    def test_zero_changes_nothing(self) -> None:
        """An increment of 0 (the setting's off switch) leaves the thread as it was."""
        changed, before, after = _in_thread(0)
        assert not changed
        assert after == before

    def test_the_value_is_capped_at_nineteen(self) -> None:
        """However large the increment, the thread's nice stops at 19."""
        assert _in_thread(100)[2] == MAX_NICE


@linux
class TestMemoryActor:
    def test_the_memory_thread_runs_nicer_than_the_daemon(self, short_tmp: Path, daemon_factory: Any) -> None:
        """With ``[memory] nice = 7`` the Memory actor's thread is 7 nicer than the daemon's main thread."""
        daemon_factory(make_config(short_tmp, None, "memory.nice=7"))
        base = _nice(threading.main_thread().native_id)
        # The actor lowers its own priority when it starts, which the daemon does not wait for.
        wait_for(
            lambda: [
                t for t in threading.enumerate()
                if t.name.startswith("MemoryActor") and _nice(t.native_id) == min(MAX_NICE, base + 7)
            ]
        )  # fmt: skip
        others = [t for t in threading.enumerate() if t.name.startswith(("PlannerActor", "ExecutorActor"))]
        assert others
        assert all(_nice(t.native_id) == base for t in others)


class TestSetting:
    @pytest.mark.parametrize("nice", [-1, 20])
    def test_out_of_range_is_refused_by_name(self, nice: int) -> None:
        """A nice outside 0-19 is a config error naming ``memory.nice``."""
        with pytest.raises(ValueError, match=r"memory\.nice must be between 0 and 19"):
            MemoryConfig(nice=nice)
