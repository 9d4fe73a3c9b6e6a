"""Runs approved tool calls on a bounded pool, journaling each call around its side effect.

Owned by the runtime (not by the Executor actor), so a restarted Executor does
not run again a call that is still running or has just finished: ``submit`` is
a no-op for a call id it has seen. ``tool.invoked`` is durable before the tool
runs: after a crash the journal says the call may have acted.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from greenroom.actors.base import ActorError
from greenroom.actors.messages import Forget, Recall, Remember
from greenroom.bus.events import Event, GuardFlagged, TaskSubmitted, ToolInvoked, ToolRequested, ToolResult
from greenroom.policy.guards import find_injection, redact
from greenroom.tools.spec import ToolContext, ToolError

if TYPE_CHECKING:
    from greenroom.actors.base import ActorHandle
    from greenroom.actors.deps import ActorDeps

log = structlog.get_logger(__name__)


class _MemoryAdapter:
    """Gives tools memory access through the Memory actor."""

    def __init__(self, handle: ActorHandle, task_id: str) -> None:
        self._handle = handle
        self._task_id = task_id

    def remember(self, text: str, tags: list[str], key: str) -> str:
        return self._handle.ask(Remember(text=text, tags=tags, dedupe_key=key, task_id=self._task_id))

    def recall(self, query: str, limit: int, tags: list[str]) -> list[dict[str, Any]]:
        return self._handle.ask(Recall(query=query, limit=limit, tags=tags))

    def forget(self, item_id: str, query: str) -> list[str]:
        request = Forget(item_ids=[item_id] if item_id else [], query=query or None, limit=1, reason="agent")
        return list(self._handle.ask(request).item_ids)


class _TaskAdapter:
    """Gives tools reminders: a delayed task marked ``reminder`` on the bus, as a client's submit publishes it."""

    def __init__(self, deps: ActorDeps, task_id: str) -> None:
        self._deps = deps
        self._task_id = task_id

    def remind(self, what: str, at: float, *, key: str) -> tuple[str, float]:
        if not (what.strip() and math.isfinite(at)):  # the tool's arguments bound the text's length
            raise ToolError("a reminder needs a text and a time")
        task_id = "t-" + hashlib.sha256(key.encode()).hexdigest()[:8]  # the same call: the same task
        view = self._deps.tasks.get(task_id)
        if view is not None:  # the call ran before a restart: that reminder stands
            if not view.reminder or view.goal != what or view.run_at is None:
                raise ToolError(f"task id {task_id} is taken by another task; set the reminder again")
            return task_id, view.run_at
        self._deps.bus.publish(
            TaskSubmitted(goal=what, run_at=at, client=f"task {self._task_id}", reminder=True),
            source="executor",
            task_id=task_id,
            correlation_id=task_id,
            durable=True,
        )
        return task_id, at


class ToolRunner:
    """A bounded pool for tool calls.

    Args:
        deps: the actors' shared dependencies (bus, registry, config, cancellations).
        workers: calls that may run at once.
    """

    def __init__(self, deps: ActorDeps, workers: int) -> None:
        self.deps = deps
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tool")
        self._seen: set[str] = set()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def submit(
        self, call: ToolRequested, approved_paths: dict[str, str], repeated_of: str, causation: int | None
    ) -> bool:
        """Run ``call`` (once per call id in this process); False if it was already submitted."""
        with self._lock:
            if call.call_id in self._seen:
                return False
            self._seen.add(call.call_id)
            self._running.add(call.call_id)
        self._pool.submit(self._run, call, approved_paths, repeated_of, causation)
        return True

    def forget_task(self, task_id: str) -> None:
        """Drop the call ids of an ended task (they can never be submitted again anyway)."""
        prefix = task_id + ":"
        with self._lock:
            self._seen = {c for c in self._seen if not c.startswith(prefix) or c in self._running}

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for running calls; True when none is left."""
        deadline = time.monotonic() + timeout
        with self._idle:
            return self._idle.wait_for(lambda: not self._running, max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _publish(self, event: Event, call: ToolRequested, causation: int | None, *, durable: bool = False) -> int:
        return self.deps.bus.publish(
            event,
            source="executor",
            task_id=call.call_id.split(":", 1)[0],
            causation_id=causation,
            correlation_id=call.call_id.split(":", 1)[0],
            durable=durable,
        ).seq

    def _run(
        self, call: ToolRequested, approved_paths: dict[str, str], repeated_of: str, causation: int | None
    ) -> None:
        try:
            self._invoke(call, approved_paths, repeated_of, causation)
        except Exception as exc:  # the bus closed under us, or a bug: the call's outcome stays unknown
            log.exception("tool_run_failed", call_id=call.call_id, error=repr(exc))
        finally:
            with self._idle:
                self._running.discard(call.call_id)
                self._idle.notify_all()

    def _invoke(
        self, call: ToolRequested, approved_paths: dict[str, str], repeated_of: str, causation: int | None
    ) -> None:
        deps = self.deps
        task_id = call.call_id.split(":", 1)[0]
        try:
            spec = deps.tools.get(call.tool)
            args = spec.parse_args(call.args)
        except ToolError as exc:
            self._publish(ToolResult(call_id=call.call_id, tool=call.tool, ok=False, error=str(exc)), call, causation)
            return
        # Durable before the side effect: after a crash, the journal says it may have run.
        seq = self._publish(ToolInvoked(call_id=call.call_id, tool=call.tool), call, causation, durable=True)
        assert deps.handles is not None
        ctx = ToolContext(
            task_id=task_id,
            call_id=call.call_id,
            config=deps.tools_config,
            memory=_MemoryAdapter(deps.handles.memory, task_id),
            tasks=_TaskAdapter(deps, task_id),
            cancel=deps.cancellations.event(task_id),
            approved_paths=approved_paths,
        )
        started = time.perf_counter()
        ok, output, error = run_with_timeout(lambda: spec.run(ctx, args), spec.timeout_s)
        # Secrets never go further than this: not to the model, the journal or memory.
        output, found = redact(output)
        error, found_in_error = redact(error)
        result = ToolResult(
            call_id=call.call_id,
            tool=call.tool,
            ok=ok,
            output=output,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            repeated_of=repeated_of,
            redacted=sorted(set(found + found_in_error)),
        )
        phrase = find_injection(output + "\n" + error)
        # The flag first: the next decision folds it before it sees the result.
        if phrase is not None:
            self._publish(GuardFlagged(call_id=call.call_id, tool=call.tool, phrase=phrase), call, seq)
        self._publish(result, call, seq, durable=True)


def run_with_timeout(fn: Callable[[], str], timeout_s: float) -> tuple[bool, str, str]:
    """Run a tool function with a timeout: (ok, output, error). A call that times out is abandoned."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn)
    try:
        return True, future.result(timeout=timeout_s), ""
    except concurrent.futures.TimeoutError:
        return False, "", f"timed out after {timeout_s:g}s"
    except (ToolError, ActorError) as exc:
        return False, "", str(exc)
    except Exception as exc:
        log.exception("tool_failed")
        return False, "", f"{type(exc).__name__}: {exc}"
    finally:
        pool.shutdown(wait=False)
