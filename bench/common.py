"""Helpers shared by the benchmarks: a daemon subprocess and percentiles."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from greenroom.clients import Client, DaemonNotRunningError
from greenroom.runtime.paths import CONTROL_SOCKET


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class BenchDaemon:
    """``greenroom daemon`` in a fresh temp dir, with the scripted backend unless ``backend`` says
    otherwise (``None``: the default configuration's)."""

    def __init__(self, *extra: str, backend: str | None = "scripted") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="grb-", dir="/tmp"))
        atexit.register(shutil.rmtree, self.root, True)  # kept across stop/start (restart benches)
        (self.root / "config.toml").touch()
        self.runtime_dir = self.root / "run"
        self.argv = [
            sys.executable,
            "-m",
            "greenroom",
            "--config",
            str(self.root / "config.toml"),
            "--data-dir",
            str(self.root / "data"),
            "--runtime-dir",
            str(self.runtime_dir),
            *(("--set", f"llm.backend={backend}") if backend else ()),
            "--set",
            "agent.match_tools=false",
            "--set",
            "daemon.log_level=warning",
            *extra,
            "daemon",
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it; return seconds until it answers a hello."""
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ}
        )
        control = self.runtime_dir / CONTROL_SOCKET
        while True:
            # Wait for the socket file (a stat) before dialling: a client built and torn down
            # every few ms would compete for the CPU with the daemon it times (2 cores here).
            if control.exists():
                try:
                    Client(self.runtime_dir, timeout=2).connect().close()
                    return time.perf_counter() - started
                except DaemonNotRunningError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited")
            time.sleep(0.001)

    def client(self) -> Client:
        return Client(self.runtime_dir, name="bench").connect()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
