"""``greenroom schedule add|list|show|pause|resume|rm|run-now``: recurring tasks."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from greenroom.bus import protocol as p
from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, connect, err, guarded, out, out_json

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not like 90s, 30m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "schedule",
        help="recurring tasks (cron or every N minutes)",
        description="Recurring tasks: a cron expression or a fixed interval, in a named time zone. Missed "
        "slots (daemon down, laptop asleep) follow the schedule's catch-up policy; a schedule whose runs "
        "keep failing is paused.",
    )
    ssub = parser.add_subparsers(dest="schedule_command", metavar="ACTION", required=True, help="what to do")

    add = ssub.add_parser(
        "add",
        help="add a schedule",
        description='Add a schedule: `schedule add "0 8 * * 1-5" "summarise my inbox"`, or '
        '`schedule add --every 30m "check the build"`.',
    )
    add.add_argument("when_and_goal", nargs="+", metavar="CRON GOAL", help="a cron expression and the goal "
                     "(with --every: only the goal)")  # fmt: skip
    add.add_argument("--every", type=_duration, help="run every interval instead (90s, 30m, 2h, 1d; at least 60s)")
    add.add_argument("--start", help="with --every: the first run, HH:MM or an ISO date/time (default: one "
                     "interval from now)")  # fmt: skip
    add.add_argument("--tz", default="", help="IANA time zone, e.g. Europe/Berlin (default: this machine's)")
    add.add_argument(
        "--catch-up",
        choices=["skip", "once"],
        default="skip",
        help="slots missed while the daemon was down: skip them, or run once for all (default skip)",
    )
    add.add_argument("--max-failures", type=int, help="pause after this many failed runs in a row (0: never)")
    add.add_argument("--json", action="store_true", help="print the schedule as JSON")
    add.set_defaults(func=add_schedule)

    ls = ssub.add_parser("list", help="list schedules", description="List schedules and their next run.")
    ls.add_argument("--all", action="store_true", help="include removed schedules")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=list_schedules)

    show = ssub.add_parser("show", help="show one schedule", description="A schedule, its next slots and runs.")
    show.add_argument("schedule_id", help="the schedule id (s-…)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=show_schedule)

    for name, helptext, func in (
        ("pause", "pause a schedule (slots while paused are not caught up)", pause),
        ("resume", "resume a paused schedule", resume),
        ("rm", "remove a schedule (its past runs stay on the timeline)", remove),
        ("run-now", "run a schedule's goal now, outside its slots", run_now),
    ):
        action = ssub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:] + ".")
        action.add_argument("schedule_id", help="the schedule id (s-…)")
        action.set_defaults(func=func)


def _start(text: str, tz: str) -> float:
    zone = None
    if tz:
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
    now = dt.datetime.now(zone).astimezone(zone)
    if re.fullmatch(r"\d{1,2}:\d{2}", text):
        hour, minute = map(int, text.split(":"))
        when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return (when if when > now else when + dt.timedelta(days=1)).timestamp()
    parsed = dt.datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone or now.tzinfo)).timestamp()


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _rule(v: p.ScheduleView) -> str:
    return v.cron if v.cron else f"every {_human(v.every_s)}"


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


@guarded
def add_schedule(args: argparse.Namespace) -> int:
    """Add a schedule."""
    words = args.when_and_goal
    if len(words) != (1 if args.every else 2):
        err('give a cron expression and a goal (quote each), or --every and a goal: '
            'schedule add "0 8 * * 1-5" "summarise my inbox"')  # fmt: skip
        return EXIT_USAGE
    if args.start and not args.every:
        err("--start goes with --every")
        return EXIT_USAGE
    try:
        start = _start(args.start, args.tz) if args.start else None
    except ValueError as exc:
        err(f"--start {args.start!r}: {exc}")
        return EXIT_USAGE
    cron, goal = ("", words[0]) if args.every else (words[0], words[1])
    with connect(args) as client:
        view = client.schedule_add(
            goal, cron=cron, every_s=args.every or 0.0, tz=args.tz, catch_up=args.catch_up, start=start,
            max_failures=args.max_failures,
        )  # fmt: skip
    if args.json:
        return out_json(view)
    out(f"{view.schedule_id}  {_rule(view)} ({view.tz}), catch-up {view.catch_up}; next {_when(_first(view))}")
    return EXIT_OK


def _first(view: p.ScheduleView) -> float | None:
    return view.next_slots[0] if view.next_slots else None


@guarded
def list_schedules(args: argparse.Namespace) -> int:
    """List schedules."""
    with connect(args) as client:
        views = client.schedules(removed=args.all)
    if args.json:
        return out_json(views)
    if not views:
        out("no schedules")
    for v in views:
        state = v.status if v.status != "paused" else f"paused ({v.reason})"
        out(f"{v.schedule_id}  {state:<8}  next {_when(_first(v))}  {_rule(v)} ({v.tz})  {v.goal[:50]}")
    return EXIT_OK


@guarded
def show_schedule(args: argparse.Namespace) -> int:
    """Show one schedule."""
    with connect(args) as client:
        v = client.schedule(args.schedule_id)
    if args.json:
        return out_json(v)
    out(f"{v.schedule_id}  {v.status}" + (f": {v.reason}" if v.reason else ""))
    out(f"goal:      {v.goal}")
    out(f"when:      {_rule(v)} in {v.tz}, catch-up {v.catch_up}, pause after {v.max_failures or 'no'} failures")
    out(f"next:      {', '.join(_when(s) for s in v.next_slots) or '-'}")
    out(f"runs:      {v.fires} on schedule, {v.missed} slots missed, {v.failures} failed in a row")
    for run in reversed(v.runs):
        slot = "run now" if run.slot is None else f"slot {_when(run.slot)}"
        extra = f", for {run.missed} missed slots" if run.missed > 1 else ""
        out(f"  {run.task_id}  {run.status:<9}  {slot}{extra}")
    return EXIT_OK


@guarded
def pause(args: argparse.Namespace) -> int:
    """Pause a schedule."""
    with connect(args) as client:
        client.schedule_pause(args.schedule_id)
    out(f"{args.schedule_id}: paused")
    return EXIT_OK


@guarded
def resume(args: argparse.Namespace) -> int:
    """Resume a schedule."""
    with connect(args) as client:
        client.schedule_resume(args.schedule_id)
    out(f"{args.schedule_id}: resumed")
    return EXIT_OK


@guarded
def remove(args: argparse.Namespace) -> int:
    """Remove a schedule."""
    with connect(args) as client:
        client.schedule_remove(args.schedule_id)
    out(f"{args.schedule_id}: removed")
    return EXIT_OK


@guarded
def run_now(args: argparse.Namespace) -> int:
    """Run a schedule's goal now."""
    with connect(args) as client:
        submitted = client.schedule_run(args.schedule_id)
    out(f"{submitted.task_id}: submitted (follow it with: greenroom tail --task {submitted.task_id})")
    return EXIT_OK
