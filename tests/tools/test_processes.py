"""python.run and shell.exec: separate processes, timeouts, output caps, no inherited secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from greenroom.tools import PYTHON_TOOL, SHELL_TOOL, ToolContext, ToolError, ToolsConfig
from tests.conftest import wait_for


def ctx(tmp_path: Path, **kw: object) -> ToolContext:
    return ToolContext(task_id="t", call_id="c", config=ToolsConfig(fs_roots=[str(tmp_path)], **kw))  # type: ignore[arg-type]


class TestPython:
    def test_runs_code_and_reports_exit_status(self, tmp_path: Path) -> None:
        """Output and exit status come back."""
        out = PYTHON_TOOL.run(ctx(tmp_path), PYTHON_TOOL.parse_args({"code": "print(6*7)"}))
        assert out.startswith("[exit 0]")
        assert "42" in out

    def test_no_inherited_secrets(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The daemon's environment (API keys and the like) is not passed on."""
        monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
        code = "import os; print(sorted(os.environ))"
        out = PYTHON_TOOL.run(ctx(tmp_path), PYTHON_TOOL.parse_args({"code": code}))
        assert "OPENAI_API_KEY" not in out
        assert os.environ["OPENAI_API_KEY"] == "sk-should-not-leak"

    def test_timeout(self, tmp_path: Path) -> None:
        """A run past its timeout is killed with a clear error."""
        with pytest.raises(ToolError, match=r"timed out after 0\.5s"):
            PYTHON_TOOL.run(ctx(tmp_path, python_timeout_s=0.5), PYTHON_TOOL.parse_args({"code": "while True: pass"}))

    def test_cancel_kills_the_run(self, tmp_path: Path) -> None:
        """Setting the call's cancel flag ends a running child with a "cancelled" error."""
        import threading

        context = ctx(tmp_path, python_timeout_s=60)
        context.cancel.set()  # set before: the first poll sees it (no timing involved)
        with pytest.raises(ToolError, match="cancelled"):
            PYTHON_TOOL.run(context, PYTHON_TOOL.parse_args({"code": "import time; time.sleep(60)"}))
        ended = threading.Event()
        context = ctx(tmp_path, python_timeout_s=60)
        marker = tmp_path / "started"
        code = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
        errors: list[str] = []

        def run() -> None:
            try:
                PYTHON_TOOL.run(context, PYTHON_TOOL.parse_args({"code": code}))
            except ToolError as exc:
                errors.append(str(exc))
            ended.set()

        runner = threading.Thread(target=run)
        runner.start()
        wait_for(marker.exists, timeout=30)
        context.cancel.set()
        runner.join(30)
        assert ended.is_set(), "the run did not end after its cancel"
        assert errors == ["cancelled"]

    def test_memory_limit(self, tmp_path: Path) -> None:
        """Allocating past the memory limit fails inside the child, not the daemon."""
        code = "x = bytearray(400 * 1024 * 1024); print('allocated')"
        out = PYTHON_TOOL.run(ctx(tmp_path, python_memory_mb=200), PYTHON_TOOL.parse_args({"code": code}))
        assert "MemoryError" in out
        assert "allocated" not in out.split("[stderr]")[0]


class TestShell:
    def test_output_is_capped(self, tmp_path: Path) -> None:
        """Large output is cut at the configured size and says so."""
        out = SHELL_TOOL.run(
            ctx(tmp_path, max_output_bytes=200), SHELL_TOOL.parse_args({"command": "yes hello | head -n 1000"})
        )
        assert "truncated at 200 bytes" in out


def test_shell_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    """A timed-out command's children die with it."""
    marker = tmp_path / "still-running"
    command = f"(sleep 2; touch {marker}) & sleep 30"
    with pytest.raises(ToolError, match="timed out"):
        SHELL_TOOL.run(ctx(tmp_path, shell_timeout_s=0.3), SHELL_TOOL.parse_args({"command": command}))
    import time

    time.sleep(2.5)  # the background child would have touched the marker by now
    assert not marker.exists()
