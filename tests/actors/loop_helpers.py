"""What the agent-loop tests read from a daemon: a task's events and its status, once it has one."""

from __future__ import annotations

from typing import Any

from greenroom.bus import decode_envelope, event_type
from greenroom.bus import events as e
from tests.conftest import wait_for


def events_of(daemon: Any, task_id: str) -> list[e.Event]:
    return [decode_envelope(raw).event for _, raw in daemon.runtime.journal.read(task_id=task_id)]


def types_of(daemon: Any, task_id: str) -> list[str]:
    return [event_type(ev) for ev in events_of(daemon, task_id) if not isinstance(ev, e.LlmChunk)]


def wait_status(daemon: Any, task_id: str, *statuses: str, timeout: float = 20) -> Any:
    return wait_for(
        lambda: (v := daemon.runtime.tasks.get(task_id)) is not None and v.status in statuses and v,
        timeout,
    )
