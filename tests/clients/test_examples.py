"""The non-Python client examples of docs/protocol.md, run for real: node over ws, nngcat over tcp."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import finish, make_config, plan, write_script

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "attach.mjs"
REMOTE = ("gateway.ws=true", "gateway.ws_port=0", "gateway.tcp=true", "gateway.tcp_port=0", "daemon.log_level=warning")


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any) -> Any:
    script = write_script(short_tmp / "s.json", {"plan": plan("say hi"), "step:1:round:1": finish("hello from greenroom")})
    return daemon_factory(make_config(short_tmp, script, *REMOTE))


def read_until(fd: int, marker: str, timeout: float) -> list[str]:
    """Lines read from ``fd`` until one holds ``marker``, the writer closes, or ``timeout`` passes."""
    text, deadline = "", time.monotonic() + timeout
    while marker not in text and time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the pty's writer is gone
            break
        if not chunk:
            break
        text += chunk.decode(errors="replace")
    return text.splitlines()


def node_websocket_flags() -> list[str]:
    """Node 22 has WebSocket built in; Node 20 needs a flag."""
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    return ["--experimental-websocket"] if int(version.lstrip("v").split(".")[0]) < 22 else []


class TestShellClients:
    @pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
    def test_node_example_subscribes_and_submits(self, daemon: Any) -> None:
        """docs/examples/attach.mjs submits a task over ws and prints its events until it finishes."""
        with daemon.client() as c:
            assert c.hello is not None
            env = {**os.environ, "GREENROOM_URL": c.hello.transports["ws"], "GREENROOM_TOKEN": c.create_token("operator").token}
        run = subprocess.run(["node", *node_websocket_flags(), str(EXAMPLE), "say hello"], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "task.submitted" in run.stdout
        assert "task.finished hello from greenroom" in run.stdout

    @pytest.mark.skipif(shutil.which("nngcat") is None, reason="nngcat (nng-utils) is not installed")
    def test_nngcat_follows_the_tcp_timeline_with_a_token(self, daemon: Any) -> None:
        """`nngcat --pair1` says hello with a token, then prints timeline frames."""
        with daemon.client() as c:
            assert c.hello is not None
            url, token = c.hello.transports["tcp_timeline"], c.create_token("viewer").token
            hello = f'{{"op":"hello","protocol":1,"client":"nngcat","token":"{token}"}}'
            # nngcat exits --recv-timeout after the last frame; frames are read (through a pty, so it
            # flushes each line) until task.finished, so the long deadline costs nothing when it goes well.
            primary, secondary = pty.openpty()
            cat = subprocess.Popen(["nngcat", "--pair1", "--dial", url, "--data", hello, "--ascii", "--recv-timeout", "60"],
                                   stdout=secondary, stderr=subprocess.DEVNULL)  # fmt: skip
            os.close(secondary)
            lines: list[str] = []
            try:
                from tests.conftest import wait_for

                wait_for(lambda: c.status().clients >= 1 and any(t.last_used for t in c.list_tokens()))
                c.submit("say hello")
                lines = read_until(primary, "task.finished", timeout=120)
            finally:
                cat.kill()
                cat.wait()
                os.close(primary)
        out = "\n".join(lines)
        assert '"type":"hello"' in out
        assert '"role":"viewer"' in out
        assert "task.finished" in out
