"""The threads one query's embedding runs on, and how many torch threads it gets.

A 13-token query through MiniLM is ~37 small matrix products. Measured here (2
cores, 200 queries, 1 and 2 torch threads alternating): with the other core
idle, 2 threads give p50 6.4 ms against 9.5 ms for 1; while other work holds
that core (``stress-ng --cpu 1``), the second thread waits to be scheduled at
every product: p50 16 ms, p99 480 ms against 11 ms and 27 ms for 1. So by
default a query gets 2 threads only while another core is idle (Linux: the
running count in ``/proc/loadavg``, sampled per query for ~10 µs; elsewhere the
1-minute load average), else 1.

torch's thread count (under OpenMP) belongs to each thread once it has run
parallel work, so each count gets its own worker thread, set once; other
threads (ingestion's batches) keep torch's default. With another parallel
backend the query runs on the caller's thread with the shared setting.

Imported only when the embedding model loads: it imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")

AUTO = 0
"""``query_threads`` value: 2 threads while a core is free, else 1."""


def _running() -> int | None:
    """Threads running or ready to run right now, system-wide (Linux), or None where unknown."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None


def _set_threads(count: int) -> None:
    torch.get_num_threads()  # a thread's first call takes the shared count: get that done before setting its own
    torch.set_num_threads(count)


class QueryThreads:
    """Runs a query's embedding with the chosen number of torch threads.

    Args:
        threads: torch threads per query, or :data:`AUTO`.
    """

    def __init__(self, threads: int = AUTO) -> None:
        self.shared = torch.get_num_threads()
        self.threads = threads
        self._pools: dict[int, ThreadPoolExecutor] = {}
        if "OpenMP" not in torch.__config__.parallel_info():
            return  # other backends share one pool: there is nothing per thread to set
        counts = {1, min(2, self.shared)} if threads == AUTO else {threads}
        for count in sorted(counts):
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"embed-query-{count}")
            pool.submit(_set_threads, count).result()
            self._pools[count] = pool
        # set_num_threads also set the count that threads started later inherit: put it back.
        torch.set_num_threads(self.shared)

    def pick(self) -> int:
        """How many torch threads the next query gets."""
        if self.threads != AUTO:
            return self.threads
        if self.shared < 2:
            return 1
        running = _running()
        if running is not None:  # the caller is one of them: another core must be idle now
            return 2 if running < self.shared else 1
        try:
            load = os.getloadavg()[0]
        except OSError:  # no load figure on this system: the robust choice
            return 1
        return 2 if load <= self.shared - 1.5 else 1

    def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the worker holding :meth:`pick`'s count (on the caller's thread without one)."""
        pool = self._pools.get(self.pick())
        return fn() if pool is None else pool.submit(fn).result()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False)
        self._pools.clear()
