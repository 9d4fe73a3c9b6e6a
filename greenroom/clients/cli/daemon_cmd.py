"""``greenroom daemon``: run the daemon in the foreground."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys

from greenroom.clients.cli.common import EXIT_USAGE, err, load


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "daemon",
        help="run the daemon in the foreground",
        description="Run the greenroom daemon in the foreground (launchd / systemd --user run it so). "
        "Stops cleanly on SIGTERM or Ctrl-C: running tasks are parked and resume at the next start.",
    )
    p.add_argument(
        "--no-stderr-log",
        action="store_true",
        help="log only to <data_dir>/logs/daemon.jsonl, not to stderr (what the service runs)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Start-up allocates what lives as long as the daemon (~50k objects for its imports alone):
    # collecting meanwhile finds nothing and cost ~10 ms. run_daemon switches it on when ready.
    gc.disable()
    try:
        return _run(args)
    finally:
        gc.enable()


def _run(args: argparse.Namespace) -> int:
    from greenroom.runtime.errors import ConfigError, DaemonAlreadyRunningError, UnsafeDirectoryError
    from greenroom.runtime.logging import configure_logging  # structlog's first importer: it hides rich
    from greenroom.runtime.paths import LOG_DIR, ensure_private_dir

    try:
        config = load(args)
        log_dir = ensure_private_dir(ensure_private_dir(config.data_dir) / LOG_DIR, ours=True)
        ensure_private_dir(config.runtime_dir)
    except (ConfigError, UnsafeDirectoryError) as exc:
        err(str(exc))
        return EXIT_USAGE
    configure_logging(config.daemon.log_level, log_dir / "daemon.jsonl", stderr=not args.no_stderr_log)
    from greenroom.runtime.daemon import run_daemon

    try:
        run_daemon(config)
    except (DaemonAlreadyRunningError, UnsafeDirectoryError) as exc:
        err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130
    except Exception as exc:
        if (listen := _listen_error(exc)) is None:
            raise
        err(str(listen))  # a port in use: a message, not a traceback
        return EXIT_USAGE
    # Everything is closed: tasks parked, journal flushed and closed, lock released. Leave now:
    # tearing down the interpreter with mlx, transformers and torch loaded takes seconds, and
    # `greenroom stop` waits for this process to be gone.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _listen_error(exc: BaseException) -> BaseException | None:
    """The ListenError in ``exc`` (task groups wrap it in exception groups), if any."""
    from greenroom.runtime import ListenError

    if isinstance(exc, ListenError):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        if (found := _listen_error(inner)) is not None:
            return found
    return None
