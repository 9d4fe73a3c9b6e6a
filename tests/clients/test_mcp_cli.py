"""``greenroom mcp ...`` against a real daemon process, with a real MCP server from PyPI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_flags

pytestmark = pytest.mark.slow


def greenroom(daemon: Any, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenroom", *daemon.flags, *args],
        capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL, env=dict(os.environ), cwd=cwd,
    )  # fmt: skip


class TestMcpCli:
    def test_add_list_show_disable_enable_restart_rm(self, short_tmp: Path, daemon_process: Any) -> None:
        """A person adds the time server, sees its tools, switches it off and on, restarts and removes it."""
        daemon = daemon_process(short_tmp, cli_flags(short_tmp)).start()
        daemon.flags = cli_flags(short_tmp)
        added = greenroom(
            daemon, "mcp", "add", "time", "--env", "TZ_TOKEN=s3cr3t-value", "--",
            sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC", cwd=short_tmp,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert added.stdout.startswith("time             running   stdio   2 tools")
        assert "mcp.time.get_current_time" in added.stdout
        assert "env:       TZ_TOKEN" in added.stdout
        assert f"cwd:       {short_tmp.resolve()}" in added.stdout
        assert "s3cr3t-value" not in added.stdout
        assert "mcp.time.convert_time" in greenroom(daemon, "tools").stdout
        listed = json.loads(greenroom(daemon, "mcp", "list", "--json").stdout)
        assert [s["name"] for s in listed] == ["time"]
        shown = json.loads(greenroom(daemon, "mcp", "show", "time", "--json").stdout)
        assert shown["env_names"] == ["TZ_TOKEN"]
        assert "s3cr3t-value" not in json.dumps(shown)

        assert "disabled" in greenroom(daemon, "mcp", "disable", "time").stdout
        assert "mcp.time." not in greenroom(daemon, "tools").stdout
        assert greenroom(daemon, "mcp", "restart", "time").returncode == 2, "a disabled server is not restarted"
        assert "stopped" in greenroom(daemon, "mcp", "enable", "time").stdout
        assert "running" in greenroom(daemon, "mcp", "restart", "time").stdout
        assert greenroom(daemon, "mcp", "rm", "time").stdout.strip() == "removed time"
        assert "no MCP servers" in greenroom(daemon, "mcp", "list").stdout

    def test_bad_input_is_a_clear_error(self, short_tmp: Path, daemon_process: Any) -> None:
        """Usage mistakes and unknown servers exit 2 with one line saying what is wrong."""
        daemon = daemon_process(short_tmp, cli_flags(short_tmp)).start()
        daemon.flags = cli_flags(short_tmp)
        cases = [
            (("mcp", "add", "x"), "give either -- CMD"),
            (("mcp", "add", "x", "--url", "http://h/", "--", "cmd"), "give either -- CMD"),
            (("mcp", "add", "Bad Name", "--", "cmd"), "server name"),
            (("mcp", "add", "x", "--url", "ftp://h/"), "http:// or https://"),
            (("mcp", "add", "x", "--header", "novalue", "--url", "http://h/"), "expected KEY=VALUE"),
            (("mcp", "show", "nope"), "no MCP server named 'nope'"),
            (("mcp", "rm", "nope"), "no MCP server named 'nope'"),
        ]
        for args, message in cases:
            proc = greenroom(daemon, *args)
            assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
            assert message in proc.stderr, (args, proc.stderr)
