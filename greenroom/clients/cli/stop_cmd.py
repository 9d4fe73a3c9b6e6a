"""``greenroom stop``: stop the running daemon and return once its process has exited.

The stop goes through the control socket (the ``shutdown`` request), never a
signal. When the command returns, running tasks are parked, the journal is
flushed and closed, the lock is released and the sockets are gone: a
``greenroom start`` right after starts a fresh daemon.
"""

from __future__ import annotations

import argparse
import time

from greenroom.clients.cli.common import EXIT_FAILED, EXIT_OK, connect, err, guarded, out, seconds
from greenroom.clients.errors import DaemonNotRunningError

EXIT_STILL_RUNNING = EXIT_FAILED


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "stop",
        help="stop the daemon",
        description="Stop the running daemon and wait until its process has exited: running tasks are "
        "parked and resume at its next start. Exit status 0 when it stopped (or none was running), "
        "1 when it is still running after --timeout.",
    )
    p.add_argument("--timeout", type=seconds, default=30.0, help="seconds to wait for it to exit (default 30)")
    p.set_defaults(func=stop)


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` has exited (it need not be our child); False on timeout.

    A zombie counts as exited: its files, sockets and lock are already released, and
    reaping it is its parent's business (some inits reap only every second or so).
    """
    import psutil

    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    deadline = time.monotonic() + timeout
    interval = 0.005
    while True:
        try:
            # is_running also compares start times, so a reused pid is not mistaken for the daemon.
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 2, 0.05)


@guarded
def stop(args: argparse.Namespace) -> int:
    """Ask the daemon to stop, then wait for its process to exit."""
    try:
        client = connect(args, timeout=10)
    except DaemonNotRunningError:
        out("no greenroom daemon is running")
        return EXIT_OK
    started = time.monotonic()
    with client:
        reply = client.shutdown()
    if not wait_for_exit(reply.pid, args.timeout):
        err(f"the daemon (pid {reply.pid}) is still running after {args.timeout:g}s; its log is in the data dir")
        return EXIT_STILL_RUNNING
    parked = f"; {reply.running} task{'s' if reply.running != 1 else ''} parked" if reply.running else ""
    out(f"greenroom daemon (pid {reply.pid}) stopped in {time.monotonic() - started:.1f}s{parked}")
    return EXIT_OK
