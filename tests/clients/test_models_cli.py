"""``greenroom models ...`` as a person runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_flags, hub_cache


def greenroom(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenroom", *cli_flags(root), "models", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip


class TestModelsCli:
    def test_list_badges_every_catalog_model_for_this_machine(self, tmp_path: Path) -> None:
        listing = json.loads(greenroom(tmp_path, "list", "--json").stdout)
        assert listing["system"]["model_budget_gb"] > 0
        badges = {row["model"]["id"]: row["fit"] for row in listing["models"]}
        assert badges["smollm2-135m"]["badge"] == "recommended"
        assert badges["llama-3.3-70b"]["badge"] == "not recommended" or listing["system"]["model_budget_gb"] >= 44
        text = greenroom(tmp_path, "list").stdout
        assert "this machine:" in text
        assert "qwen3-4b" in text

    def test_info_and_unknown_model(self, tmp_path: Path) -> None:
        info = greenroom(tmp_path, "info", "qwen3-4b")
        assert info.returncode == 0
        assert "mlx-community/Qwen3-4B-4bit" in info.stdout
        assert "fit " in info.stdout
        unknown = greenroom(tmp_path, "info", "gpt-17")
        assert unknown.returncode == 2
        assert "unknown model 'gpt-17'" in unknown.stderr

    def test_params_pull_and_rm_need_the_daemon(self, tmp_path: Path) -> None:
        """Without a daemon the commands that change its files say how to start one (exit 3)."""
        for args in (("params", "qwen3-4b"), ("pull", "acme/nothing-here", "--offline"), ("rm", "acme/x")):
            result = greenroom(tmp_path, *args)
            assert result.returncode == 3, (args, result.stderr)
            assert "no greenroom daemon is running" in result.stderr

    def test_the_embedded_default_never_goes_to_the_hub(self, tmp_path: Path) -> None:
        """`models pull smollm2-135m` downloads nothing, and load/unload keep its local name."""
        from greenroom.clients.cli.models_cmd import _repo

        assert _repo("smollm2-135m") == "smollm2-135m"
        assert _repo("qwen3-4b") == "mlx-community/Qwen3-4B-4bit"
        assert _repo("some/repo") == "some/repo"
        result = greenroom(tmp_path, "pull", "smollm2-135m")
        assert result.returncode == 0, result.stderr
        assert "nothing to download" in result.stdout

    def test_an_unreachable_hub_is_one_line_naming_the_host(
        self, short_tmp: Path, daemon_process: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A pull the daemon cannot do (the hub on a closed local port) is one line, no traceback."""
        monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
        monkeypatch.setenv("HF_HUB_CACHE", str(short_tmp / "hub"))
        daemon_process(short_tmp, cli_flags(short_tmp)).start()
        result = subprocess.run(
            [sys.executable, "-m", "greenroom", *cli_flags(short_tmp), "models", "pull", "acme/nothing-here"],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("greenroom: ")]
        assert "cannot reach 127.0.0.1" in line
        assert "acme/nothing-here is not in the local cache" in line

    def test_pull_offline_of_a_missing_model_says_so(self, short_tmp: Path, daemon_process: Any) -> None:
        """The daemon's pull fails with a reason, which the CLI prints (exit 1)."""
        daemon_process(short_tmp, cli_flags(short_tmp)).start()
        result = greenroom(short_tmp, "pull", "acme/nothing-here", "--offline")
        assert result.returncode == 1
        assert "not in the local cache" in result.stderr


def test_daemon_pull_journals_progress_then_finished(
    short_tmp: Path, daemon_process: Any, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """model_pull runs in the daemon: a progress event per file, then model.download.finished, on the timeline."""
    from greenroom.bus import events as e

    cache, snapshot = hub_cache(short_tmp, tiny_model)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    daemon = daemon_process(short_tmp, cli_flags(short_tmp)).start()
    with daemon.client() as client:
        seq = client.pull_model("acme/tiny", offline=True)
        events: list[Any] = []
        for env in client.follow(from_seq=seq + 1):
            if isinstance(env.event, (e.ModelDownloadProgress, e.ModelDownloadFinished)):
                events.append(env.event)
            if isinstance(env.event, e.ModelDownloadFinished):
                break
    progress, finished = events[:-1], events[-1]
    assert len(progress) == len(list(tiny_model.iterdir()))
    assert finished.error == ""
    assert Path(finished.path) == snapshot
