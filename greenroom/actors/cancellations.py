"""Stop flags for work in progress (a generation, a tool call), by task or request key.

Shared by the Executor (which sets them on cancel and park) and the actors
doing the work (the LLM backend checks its flag per token, tools get theirs in
``ToolContext.cancel``): a message cannot reach an actor that is busy doing
the very work to stop, a flag can.
"""

from __future__ import annotations

import threading


class Cancellations:
    """``threading.Event`` stop flags by key."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        """Set when the daemon stops: every flag reads as set."""

    def event(self, key: str) -> threading.Event:
        """The stop flag of ``key`` (created unset on first use; set already while stopping)."""
        with self._lock:
            flag = self._events.get(key)
            if flag is None:
                flag = self._events[key] = threading.Event()
                if self.stopping.is_set():
                    flag.set()
            return flag

    def cancel(self, key: str) -> None:
        self.event(key).set()

    def stop_all(self) -> None:
        """The daemon stops: set every flag, now and from now on."""
        with self._lock:
            self.stopping.set()
            flags = list(self._events.values())
        for flag in flags:
            flag.set()

    def discard(self, key: str) -> None:
        """Forget ``key``'s flag (its work is over)."""
        with self._lock:
            self._events.pop(key, None)
