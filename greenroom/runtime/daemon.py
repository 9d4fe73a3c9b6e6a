"""The daemon's lifecycle: lock, runtime, gateway, signals, orderly stop.

On SIGTERM, SIGINT or a client's ``shutdown`` request, running tasks are
parked where they are (``task.parked``) while the gateway still serves, then
the gateway stops taking requests, the actors stop, the journal is flushed
and closed, and the lock is released; the next start resumes the parked tasks.
A ``kill -9`` skips all of that and loses nothing committed: the next start
resumes from the journal.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import signal
import time
from collections.abc import AsyncIterator, Callable

import anyio
import anyio.from_thread
import anyio.lowlevel
import structlog

from greenroom.runtime.config import Config
from greenroom.runtime.core import Runtime
from greenroom.runtime.gateway import Gateway
from greenroom.runtime.lock import DaemonLock
from greenroom.runtime.notify import notify
from greenroom.runtime.paths import LOCK_FILE, ensure_private_dir

log = structlog.get_logger(__name__)


async def serve(
    config: Config,
    *,
    make_backend: Callable[[], object] | None = None,
    on_ready: Callable[[Runtime, Gateway], None] | None = None,
    stop: anyio.Event | None = None,
    handle_signals: bool = True,
    clock: Callable[[], float] = time.time,
) -> None:
    """Run the daemon until SIGTERM/SIGINT, a ``shutdown`` request, or ``stop`` is set.

    Args:
        config: the configuration.
        make_backend: overrides the model backend (tests).
        on_ready: called once the sockets are bound and the actors started.
        stop: an event that stops the daemon like a signal would (tests).
        handle_signals: stop on SIGTERM/SIGINT (only possible on the main thread).
        clock: the wall clock schedules run by (tests freeze it).

    Raises:
        DaemonAlreadyRunningError: another daemon owns this data dir.
    """
    # Signals are received from the first moment: a SIGTERM that comes while the daemon starts,
    # or right after its first reply, is an orderly stop (it killed the process outright before).
    receiver = anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) if handle_signals else None
    with receiver if receiver is not None else contextlib.nullcontext() as signals:
        await _serve(config, make_backend, on_ready, stop, signals, clock)


async def _serve(
    config: Config,
    make_backend: Callable[[], object] | None,
    on_ready: Callable[[Runtime, Gateway], None] | None,
    stop: anyio.Event | None,
    signals: AsyncIterator[int] | None,
    clock: Callable[[], float],
) -> None:
    started = time.perf_counter()
    data_dir = ensure_private_dir(config.data_dir)
    with DaemonLock(data_dir / LOCK_FILE):
        runtime = Runtime(config, make_backend=make_backend, clock=clock)
        reason = "stopped"
        try:
            gateway = Gateway(runtime, config)
            stop_event = stop if stop is not None else anyio.Event()
            token = anyio.lowlevel.current_token()
            asked_by: list[str] = []

            def on_shutdown(client: str) -> None:  # from a gateway worker thread
                asked_by.append(client)
                anyio.from_thread.run_sync(stop_event.set, token=token)

            gateway.on_shutdown = on_shutdown
            async with anyio.create_task_group() as tg:
                await tg.start(gateway.serve)
                runtime.start()
                gateway.accepting.set()
                log.info(
                    "daemon_ready",
                    seconds=round(time.perf_counter() - started, 3),
                    control=gateway.control_url,
                    head=runtime.bus.head,
                    open_tasks=len(runtime.tasks.open_tasks()),
                )
                notify(f"READY=1\nMAINPID={os.getpid()}\nSTATUS=serving on {gateway.control_url}")
                if on_ready is not None:
                    on_ready(runtime, gateway)
                reason = await _wait_for_stop(stop_event, signals)
                if asked_by:
                    reason = f"shutdown asked by {asked_by[0] or 'a client'}"
                log.info("daemon_stopping", reason=reason)
                notify(f"STOPPING=1\nSTATUS=stopping: {reason}")
                # Park while the gateway still serves, so clients see task.parked.
                await anyio.to_thread.run_sync(runtime.park, reason)
                await anyio.sleep(0.05)  # let the timeline thread send the last events
                tg.cancel_scope.cancel()
        finally:
            runtime.close(reason)


async def _wait_for_stop(stop: anyio.Event | None, signals: AsyncIterator[int] | None) -> str:
    result = "stop requested"
    async with anyio.create_task_group() as tg:

        async def on_signal() -> None:
            nonlocal result
            assert signals is not None
            async for signum in signals:
                result = signal.Signals(signum).name
                tg.cancel_scope.cancel()
                return

        async def on_event() -> None:
            assert stop is not None
            await stop.wait()
            tg.cancel_scope.cancel()

        if signals is not None:
            tg.start_soon(on_signal)
        if stop is not None:
            tg.start_soon(on_event)
    return result


def run_daemon(config: Config) -> None:
    """Blocking entry point for ``greenroom daemon``.

    The entry point may have switched the cyclic garbage collector off for the start
    (``greenroom daemon`` does): it is switched on again once the daemon is ready.
    """
    anyio.run(functools.partial(serve, config, on_ready=_started))


def _started(runtime: Runtime, gateway: Gateway) -> None:
    """Start-up is over: what it built (modules, actors, indexes) lives as long as the daemon,
    so it moves out of the collector's sight (``gc.freeze``) and collection starts now."""
    gc.freeze()
    gc.enable()
