"""``greenroom daemon`` is parsed by a parser of its own command only (a faster cold start):
whatever the command line, that parser must agree with the full one."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.clients.cli.main import COMMAND_MODULES, _is_daemon, build_parser

_TOKENS = st.sampled_from(
    [
        "daemon", "status", "run", "--no-stderr-log", "--config", "--conf", "--c", "--data-dir", "--d",
        "--runtime-dir", "--set", "agent.max_rounds=2", "--set=a=b", "--debug", "--de", "--version",
        "--ver", "-h", "--help", "--", "-", "x", "", "--config=c.toml", "daemon=1", "-x",
    ]
)  # fmt: skip


_GLOBAL = st.sampled_from(
    [["--debug"], ["--config", "c.toml"], ["--conf=c.toml"], ["--set", "a=1"], ["--set=b=2"], ["--data-dir", "d"],
     ["--runtime-dir", "r"], ["--d", "x"], ["--bogus"]]
)  # fmt: skip
_DAEMON_LINES = st.builds(
    lambda pre, post: [*(token for option in pre for token in option), "daemon", *post],
    st.lists(_GLOBAL, max_size=4),
    st.lists(_TOKENS | st.text(max_size=12), max_size=3),
)
"""Command lines shaped like the daemon's (global options, ``daemon``, a few more words): most
take the short parser, so the agreement below is checked on them, not only on the few random
lines that happen to."""


def _outcome(commands: tuple[str, ...], argv: list[str]) -> tuple[str, object]:
    """What parsing ``argv`` with a parser of ``commands`` ends in: the namespace, or the exit and its output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = build_parser(commands).parse_args(argv)
        except SystemExit as exc:
            return "exit", (exc.code, out.getvalue(), err.getvalue())
    return "parsed", {k: v for k, v in vars(args).items() if k != "func"} | {"func": args.func.__module__}


class TestDaemonParser:
    @pytest.mark.parametrize(
        "argv",
        [
            ["daemon"],
            ["daemon", "--no-stderr-log"],
            ["--config", "c.toml", "--data-dir", "d", "--runtime-dir", "r", "--set", "a=1", "--debug", "daemon"],
            ["--conf", "c.toml", "daemon"],
            ["--set=a=1", "daemon", "--no-stderr-log"],
        ],
    )
    def test_plain_daemon_command_lines_take_the_short_parser(self, argv: list[str]) -> None:
        """Global options, then `daemon` and its own options, are recognised as the daemon's command line."""
        assert _is_daemon(argv)
        assert _outcome(("daemon_cmd",), argv) == _outcome(COMMAND_MODULES, argv)

    @pytest.mark.parametrize(
        "argv",
        [
            [],
            ["status"],
            ["--help", "daemon"],
            ["-h"],
            ["--version", "daemon"],
            ["--d", "x", "daemon"],  # ambiguous: --data-dir or --debug
            ["--config"],
            ["--bogus", "daemon"],
            ["run", "daemon"],
            ["--", "daemon"],
        ],
    )
    def test_anything_else_takes_the_full_parser(self, argv: list[str]) -> None:
        """Help, version, mistakes and other commands are parsed (and explained) by the full parser."""
        assert not _is_daemon(argv)

    @settings(max_examples=300, deadline=None)
    @given(argv=st.lists(_TOKENS | st.text(max_size=12), max_size=8) | _DAEMON_LINES)
    def test_the_short_parser_agrees_with_the_full_one(self, argv: list[str]) -> None:
        """For any command line the short parser is chosen for, it parses (or refuses) it as the full one does."""
        if _is_daemon(argv):
            assert _outcome(("daemon_cmd",), argv) == _outcome(COMMAND_MODULES, argv)

    def test_the_short_parser_has_the_daemons_help(self) -> None:
        """`greenroom daemon --help` reads the same through either parser."""
        short, full = _outcome(("daemon_cmd",), ["daemon", "--help"]), _outcome(COMMAND_MODULES, ["daemon", "--help"])
        assert short == full
        assert short[0] == "exit"
        assert "Run the greenroom daemon in the foreground" in str(short[1])
