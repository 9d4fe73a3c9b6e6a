"""``greenroom tasks``, ``task``, ``status``, ``confirm``, ``cancel``."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import get_args

from greenroom.bus.protocol import TaskStatus, TaskView
from greenroom.clients.cli.common import EXIT_OK, connect, guarded, out, out_json


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tasks", help="list tasks", description="List tasks and their state.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--status",
        action="append",
        default=[],
        choices=get_args(TaskStatus),
        metavar="STATE",
        help=f"only tasks in this state (repeatable): {', '.join(get_args(TaskStatus))}",
    )
    p.set_defaults(func=tasks)

    p = sub.add_parser("task", help="show one task", description="Show one task's state.")
    p.add_argument("task_id", help="the task id (t-…)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=task)

    p = sub.add_parser("status", help="daemon status", description="Show the daemon's status.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=status)

    p = sub.add_parser(
        "confirm",
        help="answer a confirmation",
        description="Answer a pending confirmation (any attached client may answer).",
    )
    p.add_argument("confirmation_id", help="the confirmation id (c-…)")
    p.add_argument("answer", choices=["yes", "no", "y", "n"], help="yes to allow, no to decline")
    p.add_argument("--remember", action="store_true", help="remember this decision (see --scope)")
    p.add_argument(
        "--scope",
        choices=["tool", "path", "domain", "command"],
        default="tool",
        help="with --remember: for the whole tool, or only this folder, domain or exact command",
    )
    p.set_defaults(func=confirm)

    p = sub.add_parser("cancel", help="cancel a task", description="Cancel a task.")
    p.add_argument("task_id", help="the task id (t-…)")
    p.set_defaults(func=cancel)


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _goal(v: TaskView) -> str:
    """The goal as a list shows it: a reminder, or a task waiting for its time, says when it runs."""
    if v.reminder:
        return f"reminder at {_when(v.run_at or 0)}: {v.goal}"
    if v.status == "pending" and v.run_at:
        return f"(at {_when(v.run_at)}) {v.goal}"
    return v.goal


@guarded
def tasks(args: argparse.Namespace) -> int:
    """List tasks."""
    with connect(args) as client:
        views = client.tasks(args.status)
    if args.json:
        return out_json(views)
    if not views:
        out("no tasks")
    for v in views:
        pending = f"  waiting: {', '.join(c.confirmation_id for c in v.confirmations)}" if v.confirmations else ""
        steps = f"{v.steps_done}/{v.steps_total}"
        out(f"{v.task_id:<10}  {v.status:<9}  {_when(v.created)}  {steps}  {_goal(v)[:60]}{pending}")
    return EXIT_OK


@guarded
def task(args: argparse.Namespace) -> int:
    """Show one task."""
    with connect(args) as client:
        v = client.task(args.task_id)
    if args.json:
        return out_json(v)
    replanned = {0: "", 1: ", replanned once"}.get(v.replans, f", replanned {v.replans} times")
    out(f"{v.task_id}  {v.status}  steps {v.steps_done}/{v.steps_total}{replanned}")
    out(f"goal:    {_goal(v)}")
    out(f"created: {_when(v.created)}   updated: {_when(v.updated)}")
    for c in v.confirmations:
        out(f"waiting: {c.confirmation_id}  {c.question}")
    if v.answer:
        out(f"answer:  {v.answer}")
    if v.error:
        out(f"error:   {v.error}")
    return EXIT_OK


@guarded
def status(args: argparse.Namespace) -> int:
    """Show daemon status."""
    with connect(args) as client:
        s = client.status()
    if args.json:
        return out_json(s)
    out(f"greenroom {s.version}  pid {s.pid}  up {s.uptime_s:.0f}s  journal head #{s.head}")
    out(f"model:   {s.model} ({'loaded' if s.model_loaded else 'not loaded'})   rss {s.rss_bytes / 2**20:.0f} MiB")
    out("tasks:   " + (", ".join(f"{k} {n}" for k, n in sorted(s.tasks.items())) or "none"))
    out("actors:  " + ", ".join(f"{k} {v}" for k, v in s.actors.items()))
    out(f"clients: {s.clients}")
    if s.corrupt_events:
        out(f"journal: {s.corrupt_events} corrupt event(s) skipped (see the error events on the timeline)")
    for note in s.notes:
        out(f"note:    {note}")
    return EXIT_OK


@guarded
def confirm(args: argparse.Namespace) -> int:
    """Answer a confirmation."""
    approved = args.answer in ("yes", "y")
    with connect(args) as client:
        client.confirm(args.confirmation_id, approved, args.remember, args.scope)
    out(
        f"{args.confirmation_id}: {'yes' if approved else 'no'}"
        + (f" (remembered, scope {args.scope})" if args.remember else "")
    )
    return EXIT_OK


@guarded
def cancel(args: argparse.Namespace) -> int:
    """Cancel a task."""
    with connect(args) as client:
        client.cancel(args.task_id)
    out(f"{args.task_id}: cancel requested")
    return EXIT_OK
