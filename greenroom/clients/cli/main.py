"""The ``greenroom`` command: parses arguments and calls into the package."""

from __future__ import annotations

import argparse
import sys

from greenroom import __version__
from greenroom.clients.cli import (
    daemon_cmd,
    mcp_cmd,
    memory_cmd,
    models_cmd,
    plugins_cmd,
    policy_cmd,
    run_cmd,
    schedule_cmd,
    service_cmd,
    stop_cmd,
    tasks_cmd,
    timeline_cmd,
    token_cmd,
    web_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenroom",
        description="greenroom: a local agent runtime. Run tasks in the background, watch their "
        "timeline, answer confirmations.",
    )
    parser.add_argument("--version", action="version", version=f"greenroom {__version__}")
    parser.add_argument("--config", help="config file (default: the platform's config dir)")
    parser.add_argument("--runtime-dir", help="where the daemon's sockets are")
    parser.add_argument("--data-dir", help="where the daemon keeps its journal and models")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set agent.max_rounds=2 (repeatable)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    daemon_cmd.add_parser(sub)
    run_cmd.add_parser(sub)
    timeline_cmd.add_parser(sub)
    tasks_cmd.add_parsers(sub)
    stop_cmd.add_parser(sub)
    policy_cmd.add_parsers(sub)
    plugins_cmd.add_parser(sub)
    memory_cmd.add_parser(sub)
    models_cmd.add_parser(sub)
    schedule_cmd.add_parser(sub)
    service_cmd.add_parser(sub)
    token_cmd.add_parser(sub)
    web_cmd.add_parsers(sub)
    mcp_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after the first "--" is a command line (``mcp add NAME -- CMD ARGS...``):
    # argparse cannot hand it over intact once subcommands are involved.
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    if rest and not getattr(args, "takes_command_line", False):
        parser.error(f"unrecognized arguments: -- {' '.join(rest)}")
    args.command_line = rest
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
