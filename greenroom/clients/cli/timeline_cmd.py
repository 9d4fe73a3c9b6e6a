"""``greenroom tail``: follow the timeline."""

from __future__ import annotations

import argparse

from greenroom.bus.codec import envelope_to_json
from greenroom.bus.events import LlmChunk
from greenroom.clients.cli.common import EXIT_OK, closed_pipe, connect, guarded, out, positive_int, stdout_gone
from greenroom.clients.cli.render import Printer

IDLE_S = 1.0
"""How often a quiet ``tail`` checks that its reader is still there."""


def _seq(value: str) -> int:
    """A journal position, 0 or more."""
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a seq (0 or more, e.g. --from 0)")
    return int(value)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "tail",
        help="follow the event timeline",
        description="Follow the live event timeline; with --from, replay from that seq first.",
    )
    p.add_argument(
        "--from",
        dest="from_seq",
        type=_seq,
        default=None,
        help="replay from this seq (0: everything)",
    )
    p.add_argument("--task", dest="task_id", default=None, help="only this task's events")
    p.add_argument("--json", action="store_true", help="one JSON envelope per line")
    p.add_argument("--tokens", action="store_true", help="also stream the model's tokens inline as they come")
    p.add_argument("--limit", type=positive_int, default=None, help="stop after this many events")
    p.set_defaults(func=tail)


@guarded
def tail(args: argparse.Namespace) -> int:
    """Follow the timeline."""
    shown = 0
    printer = Printer(tokens=args.tokens)
    with connect(args) as client:
        stream = client.follow(from_seq=args.from_seq, task_id=args.task_id, idle=IDLE_S)
        try:
            for env in stream:
                if env is None:
                    if stdout_gone():  # `| head` took what it wanted while nothing happened
                        return closed_pipe()
                    continue
                if isinstance(env.event, LlmChunk) and not args.tokens:
                    continue
                if args.json:
                    out(envelope_to_json(env).decode())
                else:
                    printer.show(env)
                shown += 1
                if args.limit is not None and shown >= args.limit:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            printer.end_line()
            stream.close()
    return EXIT_OK
