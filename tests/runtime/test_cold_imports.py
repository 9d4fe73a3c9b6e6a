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
    "llguidance", "pypdf", "pint", "dateparser",
}  # fmt: skip
"""Each costs tens to hundreds of milliseconds to import, and none is needed until used."""
CLI_ALSO_AVOIDS = {"pykka", "structlog", "anyio", "psutil", "rich"}
"""The daemon's own machinery: a command that only talks to the daemon needs none of it."""
DAEMON_ALSO_AVOIDS = {"rich", "croniter", "watchfiles", "greenroom.clients.client"}
"""Light but not needed to answer a hello: structlog's console renderer (rich), cron parsing with
no cron schedule, folder watching with no watched folder, and the client library (``greenroom
daemon`` enters through the CLI package)."""

_DAEMON_PROBE = """
import json, os, signal, sys, threading, time
from pathlib import Path

root = Path({root!r})

def probe() -> None:
    # Raw nng (which the daemon imports anyway), not the client library this test keeps out.
    import pynng

    control = root / "run" / "control.ipc"
    while not control.exists():
        time.sleep(0.005)
    with pynng.Req0(dial=f"ipc://{{control}}", recv_timeout=60_000, send_timeout=60_000) as sock:
        sock.send(b'{{"op": "hello", "protocol": 1, "client": "probe"}}')
        reply = json.loads(sock.recv())
    print(json.dumps({{"reply": reply, "modules": sorted(sys.modules)}}), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)  # an orderly stop, as `greenroom stop` asks

threading.Thread(target=probe, daemon=True).start()
sys.argv = ["greenroom", "--config", str(root / "config.toml"), "--data-dir", str(root / "data"),
            "--runtime-dir", str(root / "run"), "daemon", "--no-stderr-log"]
from greenroom.clients.cli.main import main
sys.exit(main())
"""


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


class TestDaemonColdStart:
    @pytest.mark.slow
    def test_greenroom_daemon_answers_hello_with_nothing_heavy_imported(self, short_tmp: Path) -> None:
        """`greenroom daemon`, as its command line runs it, answers a hello without loading what it does not use yet."""
        (short_tmp / "config.toml").touch()
        proc = subprocess.run(
            [sys.executable, "-c", _DAEMON_PROBE.format(root=str(short_tmp))],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        assert report["reply"]["type"] == "hello", report["reply"]
        modules = set(report["modules"])
        assert {"greenroom.runtime.daemon", "pykka", "structlog"} <= modules  # it is the daemon that answered
        tops = {m.split(".")[0] for m in modules}
        avoided = HEAVY | DAEMON_ALSO_AVOIDS
        assert not (tops | modules) & avoided, sorted((tops | modules) & avoided)
