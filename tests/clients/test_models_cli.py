"""``greenroom models ...`` as a person runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli_flags


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
