"""The ``greenroom`` command: parses arguments and calls into the package.

Every mistake a person can make on the command line or in the config file
ends as one line on stderr naming the mistake and the fix, with exit status 2;
an unexpected failure is one line too (exit 1). ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from greenroom import __version__
from greenroom.clients.cli.common import EXIT_DETACHED, EXIT_USAGE, USER_ERRORS, closed_pipe, err

COMMAND_MODULES = (
    "daemon_cmd",
    "start_cmd",
    "run_cmd",
    "chat_cmd",
    "timeline_cmd",
    "tasks_cmd",
    "stop_cmd",
    "policy_cmd",
    "plugins_cmd",
    "memory_cmd",
    "models_cmd",
    "schedule_cmd",
    "service_cmd",
    "token_cmd",
    "web_cmd",
    "mcp_cmd",
    "journal_cmd",
)
"""The modules under ``greenroom.clients.cli`` that add commands, in ``--help`` order. They load
when the parser is built, so ``greenroom daemon`` (which builds a parser of its own command
only) loads none of the others, nor the client library they use."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (what is wrong, where to read more), exit 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("greenroom").strip()
        err(f"{command + ': ' if command else ''}{message} (see `{self.prog} --help`)")
        sys.exit(EXIT_USAGE)


def build_parser(commands: tuple[str, ...] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The ``greenroom`` parser with the commands of the ``commands`` modules (all, by default)."""
    parser = Parser(
        prog="greenroom",
        description="greenroom: a local agent runtime. Run tasks in the background, watch their "
        "timeline, answer confirmations.",
    )
    parser.add_argument("--version", action="version", version=f"greenroom {__version__}")
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        module = importlib.import_module(f"greenroom.clients.cli.{name}")
        (getattr(module, "add_parsers", None) or module.add_parser)(sub)
    return parser


def _add_global_options(parser: argparse.ArgumentParser) -> None:
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


class _NotPlain(Exception):
    """The command line is not a plain ``[global options] daemon ...`` one."""


class _PreParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotPlain(message)


def _is_daemon(argv: list[str]) -> bool:
    """Whether ``argv`` runs ``greenroom daemon``: only known global options come before it.

    Anything else (``--help``, ``--version``, a mistake, another command) gets the full parser,
    so help and error messages are the same whichever way the command line was parsed.
    """
    if "--" in argv:  # main() cuts a command line off at its first "--"; one left is a mistake to explain
        return False
    pre = _PreParser(prog="greenroom", add_help=False)
    _add_global_options(pre)
    pre.add_argument("command")
    pre.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        known, unknown = pre.parse_known_args(argv)
    except _NotPlain:
        return False
    return known.command == "daemon" and not unknown


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after the first "--" is a command line (``mcp add NAME -- CMD ARGS...``):
    # argparse cannot hand it over intact once subcommands are involved.
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1 :]
    # The daemon's cold start is measured from exec to its first hello: its parser has its
    # own command only (the same options, help and errors), not every command's module.
    parser = build_parser(("daemon_cmd",) if _is_daemon(argv) else COMMAND_MODULES)
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
