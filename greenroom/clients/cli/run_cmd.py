"""``greenroom run GOAL``: submit a task, follow it live, answer confirmations inline.

Starts a daemon in the background if none is running (unless ``--no-start``).
The exit status tells how the task ended: 0 finished, 1 failed, 4 cancelled,
5 parked (the daemon stopped first);
130 when you detach with Ctrl-C (the task keeps running).
"""

from __future__ import annotations

import argparse
import select
import subprocess
import sys
import time

from greenroom.bus import events as e
from greenroom.clients.cli.common import (
    EXIT_CANCELLED,
    EXIT_DETACHED,
    EXIT_OK,
    EXIT_PARKED,
    EXIT_TASK_FAILED,
    connect,
    err,
    guarded,
    load,
    out,
    runtime_dir,
    seconds,
)
from greenroom.clients.cli.render import Printer
from greenroom.clients.client import Client
from greenroom.clients.errors import DaemonNotRunningError

START_TIMEOUT_S = 60.0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "run",
        help="run a task and follow it",
        description="Submit GOAL, follow its timeline live and answer confirmations inline. "
        "Starts a background daemon if none is running.",
    )
    p.add_argument("goal", nargs="+", help="what to do")
    p.add_argument("--no-start", action="store_true", help="fail instead of starting a daemon")
    p.add_argument("--in", dest="delay", type=seconds, default=None, help="start in this many seconds (0 or more)")
    p.add_argument("--tokens", action="store_true", help="also stream the model's tokens inline as they come")
    p.add_argument("--yes", action="store_true", help="answer yes to every confirmation")
    p.set_defaults(func=run)


def _daemon_argv(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, "-m", "greenroom"]
    for flag in ("config", "data_dir"):
        value = getattr(args, flag, None)
        if value:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    # Where this CLI will look for it (--runtime-dir, $GREENROOM_RUNTIME_DIR or the config), said outright.
    argv += ["--runtime-dir", str(runtime_dir(args))]
    for item in getattr(args, "set", None) or []:
        argv += ["--set", item]
    # Its logs go to <data_dir>/logs only (where a forget scrubs them); daemon.out keeps what
    # comes before logging starts (a bad config, a taken lock).
    return [*argv, "daemon", "--no-stderr-log"]


def start_daemon(args: argparse.Namespace) -> Client:
    """Start a background daemon and wait until it answers."""
    rdir = runtime_dir(args)
    rdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path = rdir / "daemon.out"  # what comes before logging starts (a bad config, a taken lock)
    out(f"starting greenroom daemon (log: {load(args).data_dir / 'logs' / 'daemon.jsonl'})")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            _daemon_argv(args),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DaemonNotRunningError(f"the daemon exited with status {proc.returncode}; see {log_path}")
        try:
            return connect(args)
        except DaemonNotRunningError:
            time.sleep(0.1)
    raise DaemonNotRunningError(f"the daemon did not start within {START_TIMEOUT_S:g}s; see {log_path}")


def _ask(cid: str) -> bool | None:
    """Poll stdin for y/n without blocking the timeline; None while no answer was typed.

    Raises:
        EOFError: stdin ended (no one is there to answer: the question is left to other clients).
    """
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    if not ready:
        return None
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    answer = line.strip().lower()
    if answer in ("y", "yes"):
        return True
    if answer in ("n", "no", ""):
        return False
    out(f"  answer y or n for {cid}")
    return None


@guarded
def run(args: argparse.Namespace) -> int:
    """Submit a task and follow it to its end."""
    goal = " ".join(args.goal)
    try:
        client = connect(args)
    except DaemonNotRunningError:
        if args.no_start:
            raise
        client = start_daemon(args)
    interactive = sys.stdin.isatty()
    with client:
        run_at = time.time() + args.delay if args.delay else None
        submitted = client.submit(goal, run_at)
        pending: dict[str, str] = {}
        printer = Printer(tokens=args.tokens)
        stream = client.follow(from_seq=submitted.seq, task_id=submitted.task_id, idle=0.2)
        try:
            for env in stream:
                if env is not None:
                    ev = env.event
                    printer.show(env)
                    if isinstance(ev, e.ConfirmationAsked):
                        if args.yes:
                            client.confirm(ev.confirmation_id, True)
                        elif interactive:
                            pending[ev.confirmation_id] = ev.question
                            out(f"  {ev.question} [y/N] ")
                    elif isinstance(ev, e.ConfirmationAnswered):
                        pending.pop(ev.confirmation_id, None)
                    elif isinstance(ev, e.TaskFinished):
                        out()
                        out(ev.answer)
                        return EXIT_OK
                    elif isinstance(ev, e.TaskFailed):
                        err(f"task {submitted.task_id} failed: {ev.error}")
                        return EXIT_TASK_FAILED
                    elif isinstance(ev, e.TaskCancelled):
                        err(f"task {submitted.task_id} cancelled: {ev.reason}")
                        return EXIT_CANCELLED
                    elif isinstance(ev, e.TaskParked):
                        err(f"the daemon is stopping; task {submitted.task_id} is parked and resumes at its next start")
                        return EXIT_PARKED
                for cid in list(pending)[:1]:
                    try:
                        answer = _ask(cid)
                    except EOFError:  # an empty line is "no"; the end of input is nobody's answer
                        out(f"  no more input here: answer from any terminal with greenroom confirm {cid} yes|no")
                        pending.clear()
                        interactive = False
                        break
                    if answer is not None:
                        pending.pop(cid)
                        client.confirm(cid, answer)
        except KeyboardInterrupt:
            printer.end_line()
            err(
                f"detached; task {submitted.task_id} goes on. Follow it with: greenroom tail --task {submitted.task_id}"
            )
            return EXIT_DETACHED
        finally:
            stream.close()
    return EXIT_OK
