"""``greenroom token create|list|revoke`` and ``greenroom web`` against a real daemon."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from greenroom.clients import Client, ServerError
from tests.conftest import cli_flags, make_config


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greenroom", *cli_flags(root), *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any) -> Any:
    return daemon_factory(make_config(short_tmp, None, "gateway.tcp=true", "gateway.tcp_port=0", "gateway.ws_port=0"))


class TestTokenCommands:
    def test_create_list_revoke(self, short_tmp: Path, daemon: Any) -> None:
        """A created token attaches over tcp with its role; list shows it; revoke refuses it."""
        made = cli(short_tmp, "token", "create", "--role", "operator", "--name", "laptop", "--ttl", "1h")
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
        assert "shown only now" in made.stderr
        with daemon.client() as c:
            assert c.hello is not None
            url = c.hello.transports["tcp"]
        with Client(short_tmp / "run", url=url, token=token) as remote:
            assert remote.hello is not None
            assert remote.hello.role == "operator"
        listed = json.loads(cli(short_tmp, "token", "list", "--json").stdout)
        (entry,) = listed
        assert entry["name"] == "laptop"
        assert entry["expires"] is not None
        assert token not in json.dumps(listed)  # the secret is never listed
        revoked = cli(short_tmp, "token", "revoke", entry["token_id"])
        assert revoked.returncode == 0
        assert "revoked" in revoked.stdout
        with pytest.raises(ServerError, match="invalid, expired or revoked"):
            Client(short_tmp / "run", url=url, token=token).connect()
        assert "revoked" in cli(short_tmp, "token", "list").stdout

    def test_bad_input_is_a_usage_error(self, short_tmp: Path, daemon: Any) -> None:
        """A bad ttl or an unknown id exits 2 with a message naming the problem."""
        bad_ttl = cli(short_tmp, "token", "create", "--ttl", "soon")
        assert bad_ttl.returncode == 2
        assert "soon" in bad_ttl.stderr
        unknown = cli(short_tmp, "token", "revoke", "0badc0de")
        assert unknown.returncode == 2
        assert "no token" in unknown.stderr

    def test_web_refuses_a_daemon_without_the_page(self, short_tmp: Path, daemon: Any) -> None:
        """`greenroom web` says how to turn the page on when the running daemon does not serve it."""
        run = cli(short_tmp, "web", "--no-open", "--print-url", "--no-start")
        assert run.returncode == 2
        assert "gateway.web=true" in run.stderr
        assert "`greenroom stop`, then `greenroom web`" in run.stderr, "the shortest way is named first"
        assert "#token=" not in run.stdout


class TestListenErrors:
    def test_a_port_in_use_is_a_message_not_a_traceback(self, short_tmp: Path) -> None:
        """`greenroom daemon` with ws on a taken port exits 2 naming the problem."""
        import socket

        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            run = cli(short_tmp, "--set", "gateway.ws=true", "--set", f"gateway.ws_port={port}", "daemon")
        assert run.returncode == 2
        assert "cannot listen for remote clients" in run.stderr
        assert "Traceback" not in run.stderr
