"""What the CLI and an idle daemon do not import: the guard behind fast commands and a fast
cold start (the timings themselves live in bench/cli_start.py and bench/daemon_start.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAVY = {
    "numpy", "pandas", "sqlite_utils", "httpx", "jsonschema", "mlx", "mlx_lm", "mlx_vlm", "torch",
    "transformers", "sentence_transformers", "hnswlib", "tantivy", "huggingface_hub", "trafilatura", "lxml",
    "llguidance", "pypdf",
}  # fmt: skip
"""Each costs tens to hundreds of milliseconds to import, and none is needed until used."""
CLI_ALSO_AVOIDS = {"pykka", "structlog", "anyio", "psutil", "rich"}
"""The daemon's own machinery: a command that only talks to the daemon needs none of it."""


def imported_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


class TestColdImports:
    @pytest.mark.parametrize("command", [["status"], ["tasks"], ["status", "--json"]])
    def test_cli_commands_import_nothing_heavy(self, short_tmp: Path, command: list[str]) -> None:
        """`greenroom status` / `tasks` load the client and the config, not models, memory or the daemon."""
        (short_tmp / "config.toml").touch()
        argv = ["--config", str(short_tmp / "config.toml"), "--runtime-dir", str(short_tmp / "run"), *command]
        code = textwrap.dedent(f"""
            from greenroom.clients.cli.main import main
            assert main({argv!r}) == 3  # no daemon here: the one-line message, exit 3
        """)
        loaded = imported_after(code)
        assert "greenroom" in loaded
        assert not loaded & (HEAVY | CLI_ALSO_AVOIDS), sorted(loaded & (HEAVY | CLI_ALSO_AVOIDS))

    @pytest.mark.slow
    def test_an_idle_daemon_imports_nothing_heavy(self, short_tmp: Path) -> None:
        """A daemon that started, answered a client and stopped has loaded no model, index or HTTP stack."""
        (short_tmp / "config.toml").touch()
        code = textwrap.dedent(f"""
            import threading
            from pathlib import Path
            import anyio
            from greenroom.clients import Client
            from greenroom.runtime.config import load_config
            from greenroom.runtime.daemon import serve

            root = Path({str(short_tmp)!r})
            config = load_config(root / "config.toml", [
                f'daemon.data_dir="{{root / "data"}}"', f'daemon.runtime_dir="{{root / "run"}}"',
            ])  # the default mlx backend: models load lazily, so nothing of it loads here

            async def main() -> None:
                stop, answered = anyio.Event(), threading.Event()

                def ask(runtime, gateway) -> None:
                    def run() -> None:
                        with Client(config.runtime_dir) as client:
                            assert client.status().actors["llm"] == "running"
                        answered.set()
                    threading.Thread(target=run).start()

                async def stop_when_answered() -> None:
                    await anyio.to_thread.run_sync(answered.wait)
                    stop.set()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(stop_when_answered)
                    await serve(config, stop=stop, handle_signals=False, on_ready=ask)

            anyio.run(main)
        """)
        loaded = imported_after(code)
        assert {"greenroom", "pykka", "pynng"} <= loaded
        assert not loaded & HEAVY, sorted(loaded & HEAVY)
