"""What every CLI command shares: finding the daemon, writing output, exit codes."""

from __future__ import annotations

import argparse
import os
import select
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from greenroom._userpath import user_path
from greenroom.clients.errors import ClientError, DaemonNotRunningError, RequestTooLargeError, ServerError
from greenroom.runtime.errors import ConfigError

if TYPE_CHECKING:
    from greenroom.clients.client import Client

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_DAEMON = 3
EXIT_CANCELLED = 4
EXIT_PARKED = 5
EXIT_DETACHED = 130

USER_ERRORS = (ConfigError,)
"""Mistakes found while a command runs that ``main`` reports as one line with exit status 2
(anything else unexpected: one line, exit 1)."""


def out(text: str = "") -> None:
    """Write one line to stdout (the CLI's output, not a log)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def out_part(text: str) -> None:
    """Write ``text`` to stdout without ending the line (tokens streaming inline)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def out_json(value: object) -> int:
    """Print ``value`` as one line of JSON (the ``--json`` form of a command); returns EXIT_OK."""
    import msgspec

    out(msgspec.json.encode(value).decode())
    return EXIT_OK


def seconds(value: str) -> float:
    """An argparse type: a number of seconds, 0 or more (``--in 600``)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds, e.g. 600") from None
    if not number >= 0 or number == float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"{value!r} must be 0 or more seconds, e.g. 600")
    return number


def positive_int(value: str) -> int:
    """An argparse type: a whole number, 1 or more (``--limit 5``)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be 1 or more")
    return number


def closed_pipe() -> int:
    """stdout's reader closed it (``greenroom ... | head -1``): not an error, exit 0, quietly.

    stdout is pointed at /dev/null, so the interpreter's last flush at exit has nowhere to fail.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OK


def stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has gone (``greenroom tail | head``, between events).

    A write would say so, but a follower with nothing to write would wait for the next
    event forever: it asks while idle instead. Where ``poll`` is missing, it never says.
    """
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode) or not hasattr(select, "poll"):
            return False
        poller = select.poll()
        poller.register(fd, 0)  # no events asked for: errors and hang-ups are always reported
        return any(mask & (select.POLLERR | select.POLLHUP) for _fd, mask in poller.poll(0))
    except (OSError, ValueError):  # stdout closed or replaced by something without a descriptor
        return False


def err(text: str) -> None:
    sys.stderr.write(f"greenroom: {text}\n")
    sys.stderr.flush()


def runtime_dir(args: argparse.Namespace) -> Path:
    """Where the daemon's sockets are: --runtime-dir, $GREENROOM_RUNTIME_DIR, the config, the default.

    The config is read (and checked) either way, so a mistake in it or in a ``--set`` is
    reported by every command, not only by those that use the value.
    """
    config = load(args)
    if getattr(args, "runtime_dir", None):
        return user_path(args.runtime_dir)
    if os.environ.get("GREENROOM_RUNTIME_DIR"):
        return user_path(os.environ["GREENROOM_RUNTIME_DIR"])
    return config.runtime_dir


def load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The daemon config as this invocation sees it (file + --set overrides + dir flags).

    Raises:
        ConfigError: a mistake in the file or an override (``main`` prints it as one line, exit 2).
    """
    from greenroom.runtime.config import load_config

    overrides = list(getattr(args, "set", None) or [])
    if getattr(args, "data_dir", None):
        overrides.append(f"daemon.data_dir={_toml_str(args.data_dir)}")
    if getattr(args, "runtime_dir", None):
        overrides.append(f"daemon.runtime_dir={_toml_str(args.runtime_dir)}")
    config_path = user_path(args.config) if getattr(args, "config", None) else None
    return load_config(config_path, overrides)


def _toml_str(value: str) -> str:
    return '"' + str(user_path(value)).replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(args: argparse.Namespace, timeout: float = 10.0) -> Client:
    """A connected client (``timeout``: seconds to wait for each reply).

    Raises:
        DaemonNotRunningError: with a message saying how to start one.
    """
    from greenroom.clients.client import Client  # not at the top: `greenroom daemon` never needs it

    return Client(runtime_dir(args), name="greenroom-cli", timeout=timeout).connect()


def guarded(fn):  # type: ignore[no-untyped-def]
    """Turn client errors into a one-line message and an exit code, never a traceback."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except DaemonNotRunningError as exc:
            err(str(exc))
            return EXIT_NO_DAEMON
        except RequestTooLargeError as exc:
            err(str(exc))
            return EXIT_USAGE
        except ServerError as exc:
            err(exc.message)
            return EXIT_USAGE if exc.code in ("bad_request", "not_found", "conflict", "too_large") else 1
        except ClientError as exc:
            err(str(exc))
            return 1

    wrapper.__doc__ = fn.__doc__
    return wrapper
