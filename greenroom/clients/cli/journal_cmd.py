"""``greenroom journal [stats|compact|backup|export]`` and ``greenroom reset``: all through the daemon."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator
from typing import TextIO

from greenroom._userpath import user_path
from greenroom.bus.codec import envelope_to_json
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import TaskSubmitted, event_type
from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, connect, err, guarded, out, out_json
from greenroom.clients.cli.memory_cmd import _since as when
from greenroom.clients.cli.render import detail
from greenroom.clients.client import Client

# A compaction or a backup of a big journal takes a while: allow for it.
LONG_S = 3600.0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "journal",
        help="journal statistics, compaction, backup and export",
        description="The event journal (the daemon's history): its size, compaction of old token chunks, "
        "a backup while the daemon runs, and exports of tasks or time ranges.",
    )
    jsub = parser.add_subparsers(dest="journal_command", metavar="ACTION", required=True, help="what to do")
    stats = jsub.add_parser("stats", help="events, sizes, what compaction would fold", description="Journal stats.")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=journal_stats)
    compact = jsub.add_parser(
        "compact",
        help="fold old token chunks into their results",
        description="Fold the token chunks of tasks finished at least --older-than days ago (default: "
        "journal.fold_chunks_after_days) into their llm.finished events, and give the space back. "
        "Open tasks are never touched; seq numbers never change.",
    )
    compact.add_argument("--older-than", type=float, metavar="DAYS", help="days since the task finished")
    compact.add_argument("--json", action="store_true", help="print JSON")
    compact.set_defaults(func=journal_compact)
    backup = jsub.add_parser(
        "backup",
        help="copy the journal while the daemon runs",
        description="Copy the journal into one SQLite file (SQLite's online backup: the daemon goes on). "
        "To restore, stop the daemon and put the file in place of journal.sqlite in its data dir.",
    )
    backup.add_argument("path", help="the file to write (its folder must exist)")
    backup.add_argument("--overwrite", action="store_true", help="replace an existing file")
    backup.set_defaults(func=journal_backup)
    export = jsub.add_parser(
        "export",
        help="events of a task or a time range, as JSON lines or Markdown",
        description="Export events: one task (--task), a time range (--since/--until), or everything.",
    )
    export.add_argument("--task", help="only this task's events")
    export.add_argument("--since", type=when, help="from: 7d, 12h, 30m ago, or an ISO date/time")
    export.add_argument("--until", type=when, help="to: 7d, 12h, 30m ago, or an ISO date/time")
    export.add_argument("--format", choices=["jsonl", "md"], default="jsonl", help="jsonl (default) or md")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(func=journal_export)

    reset = sub.add_parser(
        "reset",
        help="start over: remove the journal's events and memory",
        description="Remove every event (tasks, schedules, watched folders) and every memory item. No task "
        "may be open. Tokens, plugins, model files and parameters, remembered decisions and the config stay.",
    )
    reset.add_argument("--yes", action="store_true", help="do not ask")
    reset.add_argument("--keep-memory", action="store_true", help="keep memory; only the journal starts over")
    reset.set_defaults(func=reset_all)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


@guarded
def journal_stats(args: argparse.Namespace) -> int:
    """Show the journal's numbers."""
    with connect(args) as client:
        stats = client.journal_stats()
    if args.json:
        return out_json(stats)
    span = "empty"
    if stats.oldest is not None and stats.newest is not None:
        first, last = (dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") for t in (stats.oldest, stats.newest))
        span = f"{first} .. {last}"
    out(f"events     {stats.events:,} (seq {stats.first_seq}..{stats.head}), {span}")
    out(f"file       {_mib(stats.db_bytes)} + WAL {_mib(stats.wal_bytes)} ({_mib(stats.free_bytes)} free inside)")
    out(f"schema     version {stats.schema_version}")
    top = sorted(stats.by_type.items(), key=lambda kv: -kv[1])[:8]
    out("by type    " + ", ".join(f"{k} {v:,}" for k, v in top))
    out(
        f"foldable   {stats.foldable_chunks:,} token chunks of tasks finished over "
        f"{stats.fold_chunks_after_days:g} days ago (greenroom journal compact)"
    )
    return EXIT_OK


@guarded
def journal_compact(args: argparse.Namespace) -> int:
    """Compact now."""
    if args.older_than is not None and not args.older_than >= 0:
        err("--older-than must be 0 or more days")
        return EXIT_USAGE
    with connect(args, timeout=LONG_S) as client:
        report = client.journal_compact(args.older_than)
    if args.json:
        return out_json(report)
    out(
        f"folded {report.chunks:,} chunks of {report.tasks} task(s) into {report.finished} results; "
        f"{_mib(report.bytes_before)} -> {_mib(report.bytes_after)} in {report.seconds:.1f}s"
    )
    return EXIT_OK


@guarded
def journal_backup(args: argparse.Namespace) -> int:
    """Back up through the daemon (the path is resolved here: the daemon runs on this machine)."""
    path = str(user_path(args.path).resolve())
    with connect(args, timeout=LONG_S) as client:
        reply = client.journal_backup(path, args.overwrite)
    out(f"backed up events up to #{reply.head} into {reply.path} ({_mib(reply.bytes)}, {reply.seconds:.1f}s)")
    return EXIT_OK


def _pages(client: Client, args: argparse.Namespace) -> Iterator[Envelope]:
    page = client.journal_export(args.task, args.since, args.until)
    end = page.head
    while True:
        yield from page.events
        if not page.events or page.next_seq > end:
            return
        page = client.journal_export(args.task, args.since, args.until, from_seq=page.next_seq, to_seq=end)


def _md_line(env: Envelope) -> str:
    when_ = dt.datetime.fromtimestamp(env.ts).strftime("%Y-%m-%d %H:%M:%S")
    task = f" `{env.task_id}`" if env.task_id else ""
    text = detail(env).replace("\n", " ")
    return f"- **#{env.seq}** {when_}{task} `{event_type(env.event)}`" + (f" {text}" if text else "")


def _write(stream: TextIO, client: Client, args: argparse.Namespace) -> int:
    count = 0
    if args.format == "md":
        title = f"task {args.task}" if args.task else "events"
        stream.write(f"# greenroom journal: {title}\n\n")
    for env in _pages(client, args):
        if args.format == "jsonl":
            stream.write(envelope_to_json(env).decode() + "\n")
        else:
            if isinstance(env.event, TaskSubmitted) and not args.task:
                stream.write(f"\n## {env.task_id}: {env.event.goal.splitlines()[0][:100]}\n\n")
            stream.write(_md_line(env) + "\n")
        count += 1
    stream.flush()
    return count


@guarded
def journal_export(args: argparse.Namespace) -> int:
    """Export page by page, streaming."""
    if args.task and (args.since or args.until):
        err("--task goes alone; --since/--until select a time range of all events")
        return EXIT_USAGE
    with connect(args, timeout=LONG_S) as client:
        if args.output:
            with open(user_path(args.output), "w", encoding="utf-8") as f:
                count = _write(f, client, args)
            err(f"exported {count} events to {args.output}")
        else:
            _write(sys.stdout, client, args)
    return EXIT_OK


@guarded
def reset_all(args: argparse.Namespace) -> int:
    """Ask (or --yes), then reset through the daemon."""
    with connect(args, timeout=LONG_S) as client:
        if not args.yes:
            events = client.journal_stats().events
            items = 0 if args.keep_memory else client.memory_stats().items
            what = f"{events:,} events" + ("" if args.keep_memory else f" and {items:,} memory items")
            if not sys.stdin.isatty():
                err(f"reset would remove {what}; run it with --yes to do that without a question")
                return EXIT_USAGE
            sys.stderr.write(f"Remove {what}? This cannot be undone. Type 'yes': ")
            sys.stderr.flush()
            if sys.stdin.readline().strip().lower() != "yes":
                out("nothing was removed")
                return EXIT_OK
        reply = client.reset(args.keep_memory)
    kept = " (memory kept)" if args.keep_memory else f" and {reply.memory_items} memory items"
    out(f"removed {reply.events:,} events{kept}; the journal starts again at #{reply.seq}")
    return EXIT_OK
