"""``greenroom stop``: stop the running daemon cleanly (as SIGTERM would)."""

from __future__ import annotations

import argparse
import os
import signal
import time

from greenroom.clients.cli.common import EXIT_OK, connect, err, guarded, out
from greenroom.clients.errors import DaemonNotRunningError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "stop",
        help="stop the daemon",
        description="Stop the running daemon: running tasks are parked and resume at its next start.",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for it to exit")
    p.set_defaults(func=stop)


@guarded
def stop(args: argparse.Namespace) -> int:
    """Send SIGTERM to the daemon and wait until it no longer answers."""
    with connect(args) as client:
        pid = client.status().pid
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            connect(args).close()
        except DaemonNotRunningError:
            out(f"greenroom daemon (pid {pid}) stopped")
            return EXIT_OK
        time.sleep(0.1)
    err(f"the daemon (pid {pid}) is still running after {args.timeout:g}s")
    return 1
