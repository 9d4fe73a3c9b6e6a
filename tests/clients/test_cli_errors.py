"""Every mistake a person can make on the command line or in the config file is one line on
stderr naming the mistake and the fix, with exit status 2 and no traceback (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_flags, make_config

# (arguments after the global flags, config file text or None for an empty one, what stderr must say)
MISTAKES: list[tuple[list[str], str | None, str]] = [
    (["--set", "agent.max_rounds", "status"], None, "--set 'agent.max_rounds': expected SECTION.KEY=VALUE"),
    (["--set", "agent.max_round=2", "status"], None, "did you mean 'max_rounds'?"),
    (["--set", "agnet.max_rounds=2", "tasks"], None, "did you mean 'agent'?"),
    (["--set", "agent.max_rounds=lots", "status"], None, "agent.max_rounds takes an integer, not a string"),
    (["--set", "llm.backend=ollama", "status"], None, "valid values: mlx, scripted, openai"),
    (["--set", "llm.top_p=5", "run", "x"], None, "llm.top_p must be in (0, 1]"),
    (["status"], "[agent\nmax_rounds = 2\n", "config.toml:1:7: not valid TOML"),
    (["tasks"], "[agent]\nmax_rounds = \n", "config.toml:2:14: not valid TOML"),
    (["status"], "[agnet]\nmax_rounds = 2\n", "unknown key 'agnet' in the file's top level; did you mean 'agent'?"),
    (["status"], "[agent]\nmax_rounds = 'four'\n", "agent.max_rounds takes an integer, not a string"),
    (["tasks", "--status", "scheduled"], None, "invalid choice: 'scheduled' (choose from 'pending', 'running'"),
    (["run", "--in", "-5", "remind", "me"], None, "'-5' must be 0 or more seconds"),
    (["run", "--in", "soon", "remind", "me"], None, "'soon' is not a number of seconds"),
    (["run"], None, "the following arguments are required: goal"),
    (["tail", "--from", "-1"], None, "'-1' is not a seq"),
    (["tail", "--limit", "0"], None, "'0' must be 1 or more"),
    (["stop", "--timeout", "nan"], None, "'nan' must be 0 or more seconds"),
    (["memory", "search", "cats", "--limit", "0"], None, "'0' must be 1 or more"),
    (["memory", "search", "cats", "--since", "yesterday"], None, "'yesterday' is not like 7d, 12h, 30m or 2026-01-31"),
    (["memory", "search", "cats", "--source", "web"], None, "invalid choice: 'web'"),
    (["confirm", "c-1", "maybe"], None, "invalid choice: 'maybe'"),
    (["frobnicate"], None, "greenroom: argument COMMAND: invalid choice: 'frobnicate'"),
    (["policy", "test", "fs.write", "{not json"], None, "ARGS_JSON is not valid JSON"),
    (["models", "info", "no-such-model"], None, "unknown model 'no-such-model'"),
    (["models", "params", "smollm2-135m", "--set", "temperature"], None, "expected KEY=VALUE"),
]

DAEMON_MISTAKES: list[tuple[list[str], str]] = [
    (["models", "rm", "acme/not-here"], "acme/not-here is not on this machine"),
    (["models", "params", "smollm2-135m", "--set", "temprature=0.5"], "did you mean 'temperature'?"),
]
"""Mistakes only the daemon can name (the CLI asks it: it owns the model files and parameters)."""


def greenroom(root: Path, *args: str, config: str | None = None) -> subprocess.CompletedProcess[str]:
    flags = cli_flags(root)
    (root / "config.toml").write_text(config or "")
    env = {k: v for k, v in os.environ.items() if k != "GREENROOM_RUNTIME_DIR"}
    env["HF_HUB_CACHE"] = str(root / "hub")  # the person's own model cache stays out of it
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "greenroom", *flags, *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip


def one_line_mistake(proc: subprocess.CompletedProcess[str], says: str) -> None:
    """Exit status 2 and one stderr line, ``greenroom: ...``, that says ``says``; no traceback."""
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("greenroom: ")
    assert says in lines[0], lines[0]


class TestMistakes:
    @pytest.mark.parametrize(("args", "config", "says"), MISTAKES, ids=[" ".join(m[0]) for m in MISTAKES])
    def test_a_mistake_is_one_line_and_exit_2(
        self, short_tmp: Path, args: list[str], config: str | None, says: str
    ) -> None:
        """The mistake gets exit status 2 and one stderr line that names it, never a traceback."""
        proc = greenroom(short_tmp, *args, config=config)
        one_line_mistake(proc, says)

    @pytest.mark.parametrize(("args", "says"), DAEMON_MISTAKES, ids=[" ".join(m[0]) for m in DAEMON_MISTAKES])
    def test_a_mistake_the_daemon_names_is_one_line_and_exit_2(
        self, short_tmp: Path, daemon_factory: Any, args: list[str], says: str
    ) -> None:
        """Asked through the daemon, the mistake is still one stderr line naming it, with exit status 2."""
        daemon_factory(make_config(short_tmp))
        proc = greenroom(short_tmp, *args)
        one_line_mistake(proc, says)

    def test_debug_shows_the_traceback(self, short_tmp: Path) -> None:
        """--debug is the way to a traceback: an unexpected failure with it shows one."""
        proc = greenroom(short_tmp, "--debug", "status", config="[agent\n")
        assert proc.returncode != 0
        assert "Traceback" in proc.stderr
        assert "ConfigError" in proc.stderr
