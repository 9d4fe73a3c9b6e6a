"""The CLI uses only the socket: run as another user, who may dial the daemon but not read its data dir.

The daemon runs as this (root) user; its runtime dir and sockets are opened to
everyone for the test, its data dir stays 0700. The CLI runs under uid 65534
(``setpriv``), so any command that opened a daemon file would fail with a
permission error (the first test proves that it would).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, cli_flags, hub_cache
from tests.tools.test_plugins import make_plugin

NOBODY = 65534

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"),
]


def as_nobody(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "HOME": "/nonexistent"}
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv],
        capture_output=True, text=True, timeout=120, env=env, input=stdin,
    )  # fmt: skip


@pytest.fixture
def shared_daemon(short_tmp: Path, daemon_process: Any, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A daemon whose sockets another user may dial; its data dir stays private."""
    cache, _snapshot = hub_cache(short_tmp, tiny_model)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    flags = cli_flags(short_tmp)
    daemon = daemon_process(short_tmp, flags).start()
    os.chmod(short_tmp, 0o711)
    os.chmod(daemon.runtime_dir, 0o711)
    for sock in daemon.runtime_dir.glob("*.ipc"):
        os.chmod(sock, 0o666)
    daemon.flags = flags
    daemon.data = short_tmp / "data"

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return as_nobody(sys.executable, "-m", "greenroom", *flags, *args, stdin=stdin)

    daemon.cli = cli
    return daemon


class TestTheCliNeedsOnlyTheSocket:
    def test_the_other_user_cannot_read_the_data_dir_but_reaches_the_daemon(self, shared_daemon: Any) -> None:
        """The setup bites: the data dir is unreadable to the CLI's user, the socket answers it."""
        probe = as_nobody(sys.executable, "-c", f"import os; os.listdir({str(shared_daemon.data)!r})")
        assert probe.returncode != 0
        assert "PermissionError" in probe.stderr
        status = shared_daemon.cli("status", "--json")
        assert status.returncode == 0, status.stderr

    def test_plugins(self, shared_daemon: Any, short_tmp: Path) -> None:
        """install, list, disable, enable, update, remove: all done by the daemon."""
        src = short_tmp / "src"
        v1, v2 = make_plugin(src), make_plugin(src, version="2.0.0")
        index = short_tmp / "index.json"
        index.write_text(json.dumps({"plugins": [{"id": "greeter", "version": "2.0.0", "path": str(v2)}]}))
        os.chmod(src, 0o755)
        cli = shared_daemon.cli
        for args, expect in (
            (("plugins", "install", str(v1)), "installed greeter 1.0.0 (1 tools)"),
            (("plugins", "list"), "greeter"),
            (("plugins", "disable", "greeter"), "greeter disabled"),
            (("plugins", "enable", "greeter"), "greeter enabled"),
            (("plugins", "update", "greeter", "--index", str(index)), "updated greeter 1.0.0 -> 2.0.0"),
            (("plugins", "remove", "greeter"), "removed greeter"),
            (("plugins", "list"), "no plugins installed"),
        ):
            result = cli(*args)
            assert result.returncode == 0, (args, result.stderr)
            assert expect in result.stdout, (args, result.stdout)
        broken = make_plugin(src, plugin_id="bad")
        (broken / "plugin.toml").write_text("id = 'bad'\nversion = 3\n")
        refused = cli("plugins", "install", str(broken))
        assert refused.returncode == 2
        assert "Expected `str`, got `int` - at `$.version`" in refused.stderr

    def test_models_params_pull_rm_load(self, shared_daemon: Any) -> None:
        """Parameters, a pull with progress from the daemon's timeline, a delete, a load: no file opened here."""
        cli = shared_daemon.cli
        ok = cli("models", "params", "qwen3-4b", "--set", "temperature=0.7", "--set", "top_k=40")
        assert ok.returncode == 0, ok.stderr
        assert "qwen3-4b: temperature=0.7, top_k=40" in ok.stdout
        bad = cli("models", "params", "qwen3-4b", "--set", "temperature=-1")
        assert bad.returncode == 2
        assert "temperature must not be negative" in bad.stderr
        assert "qwen3-4b: temperature=0.7" in cli("models", "params", "qwen3-4b", "--clear", "top_k").stdout
        pulled = cli("models", "pull", "acme/tiny", "--offline")
        assert pulled.returncode == 0, pulled.stderr
        assert "acme/tiny is in " in pulled.stdout
        listed = json.loads(cli("models", "list", "--local", "--json").stdout)
        assert [m["repo"] for m in listed["local"]] == ["acme/tiny"]
        removed = cli("models", "rm", "acme/tiny")
        assert removed.returncode == 0, removed.stderr
        assert "deleted acme/tiny" in removed.stdout
        again = cli("models", "rm", "acme/tiny")
        assert again.returncode == 2
        assert "is not on this machine" in again.stderr
        loaded = cli("models", "load", "--keep")
        assert loaded.returncode == 0, loaded.stderr
        assert "stays the active model across restarts" in loaded.stdout

    def test_journal_and_reset(self, shared_daemon: Any, short_tmp: Path) -> None:
        """stats, compact, backup, export (jsonl and md) and reset, through the socket."""
        cli = shared_daemon.cli
        stats = json.loads(cli("journal", "stats", "--json").stdout)
        assert stats["events"] >= 1
        assert stats["schema_version"] == 2
        compact = cli("journal", "compact", "--older-than", "0")
        assert compact.returncode == 0
        assert "folded 0 chunks" in compact.stdout
        backup = cli("journal", "backup", str(short_tmp / "backup.sqlite"))
        assert backup.returncode == 0, backup.stderr
        assert (short_tmp / "backup.sqlite").exists()
        lines = cli("journal", "export").stdout.splitlines()
        assert json.loads(lines[0])["event"]["type"] == "daemon.started"
        md = cli("journal", "export", "--format", "md").stdout
        assert md.startswith("# greenroom journal: events")
        assert "`journal.backed_up`" in md
        refused = cli("reset")
        assert refused.returncode == 2
        assert "--yes" in refused.stderr
        reset = cli("reset", "--yes")
        assert reset.returncode == 0, reset.stderr
        assert "the journal starts again at #" in reset.stdout

    def test_stop(self, shared_daemon: Any) -> None:
        """`greenroom stop` asks over the socket (no signal: this user could not send one) and waits for the exit."""
        probe = as_nobody(sys.executable, "-c", f"import os; os.kill({shared_daemon.proc.pid}, 0)")
        assert "PermissionError" in probe.stderr, "a signal from this user would be refused"
        stopped = shared_daemon.cli("stop", "--timeout", "60")
        assert stopped.returncode == 0, stopped.stderr
        assert f"greenroom daemon (pid {shared_daemon.proc.pid}) stopped" in stopped.stdout
        assert shared_daemon.proc.wait(30) == 0
