"""The ``greenroom`` command: parses arguments and calls into the package.

Every mistake a person can make on the command line or in the config file
ends as one line on stderr naming the mistake and the fix, with exit status 2;
an unexpected failure is one line too (exit 1). ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from greenroom import __version__
from greenroom.clients.cli import (
    chat_cmd,
    daemon_cmd,
    journal_cmd,
    mcp_cmd,
    memory_cmd,
    models_cmd,
    plugins_cmd,
    policy_cmd,
    run_cmd,
    schedule_cmd,
    service_cmd,
    start_cmd,
    stop_cmd,
    tasks_cmd,
    timeline_cmd,
    token_cmd,
    web_cmd,
)
from greenroom.clients.cli.common import EXIT_DETACHED, EXIT_USAGE, USER_ERRORS, closed_pipe, err


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (what is wrong, where to read more), exit 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("greenroom").strip()
        err(f"{command + ': ' if command else ''}{message} (see `{self.prog} --help`)")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    daemon_cmd.add_parser(sub)
    start_cmd.add_parser(sub)
    run_cmd.add_parser(sub)
    chat_cmd.add_parsers(sub)
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
    journal_cmd.add_parsers(sub)
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
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (`| head`): what it wanted, it has
        return closed_pipe()
    except USER_ERRORS as exc:  # a config mistake found while running the command
        if args.debug:
            raise
        err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_DETACHED
    except Exception as exc:
        if args.debug:
            raise
        err(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
