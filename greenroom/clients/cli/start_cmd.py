"""``greenroom start``: start the daemon in the background and return once it answers."""

from __future__ import annotations

import argparse

from greenroom.clients.cli.common import EXIT_FAILED, EXIT_OK, connect, err, guarded, out
from greenroom.clients.errors import DaemonNotRunningError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "start",
        help="start the daemon in the background",
        description="Start the greenroom daemon detached from this terminal and return once it answers "
        "(parked tasks resume). Exit status 0 when it runs (or already ran), 1 when it could not start.",
    )
    p.set_defaults(func=start)


@guarded
def start(args: argparse.Namespace) -> int:
    """Start a background daemon unless one already answers."""
    from greenroom.clients.cli.run_cmd import start_daemon

    try:
        with connect(args, timeout=5) as client:
            assert client.hello is not None
            out(f"greenroom daemon is already running (pid {client.hello.pid})")
            return EXIT_OK
    except DaemonNotRunningError:
        pass
    try:
        client = start_daemon(args)
    except DaemonNotRunningError as exc:  # it exited or never answered: the message names its log
        err(str(exc))
        return EXIT_FAILED
    with client:
        assert client.hello is not None
        out(f"greenroom daemon started (pid {client.hello.pid})")
    return EXIT_OK
