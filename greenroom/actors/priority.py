"""Background threads give way: a lower CPU priority for the calling thread.

On Linux ``nice`` belongs to each thread, and threads a thread starts inherit
it, so the Memory actor lowers its own (its ingest and watch threads follow).
Under load the scheduler then runs the timeline, requests and the model first;
with idle cores nothing changes. Elsewhere (macOS has no per-thread nice this
way reaches) it does nothing.
"""

from __future__ import annotations

import os
import sys
import threading

import structlog

log = structlog.get_logger(__name__)

MAX_NICE = 19


def lower_thread_priority(increment: int) -> bool:
    """Make the calling thread ``increment`` nicer (capped at 19); False where nothing changed.

    Raising one's own nice value needs no privilege, so this only fails where the
    platform has no per-thread nice (then it logs and returns False).
    """
    if increment <= 0 or sys.platform != "linux":
        return False
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(MAX_NICE, now + increment))
    except OSError as exc:
        log.warning("thread_priority_unchanged", thread=threading.current_thread().name, error=str(exc))
        return False
    return True
