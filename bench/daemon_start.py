"""Cold start: exec of ``greenroom daemon`` to its first answered hello, beside ``python -c pass``.

All run in the same loop, alternating (so load on the machine hits them alike),
with the same interpreter; medians of ``--runs``. The daemon runs its default
configuration (the model backend loads lazily, so none loads here) in two cases:

- **restart**: a data dir the daemon has run in before (it was started and stopped
  once): how it starts every day (login, service restart, ``greenroom start``).
  The goals are judged here.
- **first start**: a fresh data dir, so the start also creates its SQLite files:
  one fsync per schema statement, which on this shared disk costs milliseconds each.

greenroom's bytecode is compiled first, as an installed package has it (with
``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__``, every start compiled every
module from source). Also printed: the heavy packages the daemon had imported when
it answered its first hello (from a probe thread inside a ``greenroom daemon``
process, so it is the real entry point), the native ones mapped after a second of
idle, and the idle RSS.

Goals: ready <= 0.5 s on a quiet machine and <= 10x ``python -c pass`` in the same run.

    python -m bench.daemon_start [--runs 7]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

import greenroom
from bench.common import BenchDaemon

READY_GOAL_S = 0.5
RATIO_GOAL = 10.0
HEAVY = (
    "numpy", "pandas", "sqlite_utils", "httpx", "jsonschema", "mlx", "mlx_lm", "mlx_vlm", "torch",
    "transformers", "sentence_transformers", "hnswlib", "tantivy", "huggingface_hub", "llguidance", "lxml",
    "trafilatura", "pypdf", "pint", "dateparser", "rich", "croniter", "watchfiles", "greenroom.clients.client",
)  # fmt: skip
"""What an idle daemon should not have imported (tests/runtime/test_cold_imports.py guards the same)."""

_PROBE = """
import json, os, signal, sys, threading, time
from pathlib import Path

root = Path(sys.argv[1])

def probe():
    import pynng  # raw nng (the daemon imports it anyway), not the client library

    control = root / "run" / "control.ipc"
    while not control.exists():
        time.sleep(0.005)
    with pynng.Req0(dial=f"ipc://{control}", recv_timeout=60_000) as sock:
        sock.send(b'{"op": "hello", "protocol": 1, "client": "probe"}')
        sock.recv()
    print(json.dumps(sorted(sys.modules)), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=probe, daemon=True).start()
sys.argv = ["greenroom", "--config", str(root / "config.toml"), "--data-dir", str(root / "data"),
            "--runtime-dir", str(root / "run"), "daemon", "--no-stderr-log"]
from greenroom.clients.cli.main import main
sys.exit(main())
"""


def python_pass() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def first_start() -> float:
    """Seconds from exec to the first hello in a fresh data dir."""
    daemon = BenchDaemon(backend=None)
    try:
        return daemon.start()
    finally:
        daemon.stop()
        shutil.rmtree(daemon.root, ignore_errors=True)


def restart(daemon: BenchDaemon) -> tuple[float, int, list[str]]:
    """Seconds from exec to the first hello in ``daemon``'s data dir, idle RSS, heavy native
    packages mapped after a second of idle."""
    try:
        ready = daemon.start()
        assert daemon.proc is not None
        time.sleep(1.0)  # idle: let start-up work settle before reading memory
        proc = psutil.Process(daemon.proc.pid)
        rss = proc.memory_info().rss
        maps = {m.path for m in proc.memory_maps()}
        heavy = sorted(h for h in HEAVY if any(f"/{h}/" in path for path in maps))
    finally:
        daemon.stop()
    return ready, rss, heavy


def imported_by_first_hello() -> list[str]:
    """The HEAVY modules a ``greenroom daemon`` process holds when it answers its first hello."""
    root = Path(tempfile.mkdtemp(prefix="grb-", dir="/tmp"))
    try:
        (root / "config.toml").touch()
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(root)], capture_output=True, text=True, timeout=120)
        lines = proc.stdout.strip().splitlines()
        if not lines:  # the list is printed before the stop: how the process then ends does not matter
            raise RuntimeError(f"the probe printed nothing (exit {proc.returncode}): {proc.stderr[-2000:]}")
        modules = set(json.loads(lines[-1]))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [h for h in HEAVY if h in modules or any(m.startswith(h + ".") for m in modules)]


def verdict(ready: float, ratio: float) -> str:
    return (
        f"ready <= {READY_GOAL_S} s {'met' if ready <= READY_GOAL_S else 'MISSED'};"
        f" <= {RATIO_GOAL:g}x python -c pass {'met' if ratio <= RATIO_GOAL else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    compiled = compileall.compile_dir(Path(greenroom.__file__).parent, quiet=1)
    daemon = BenchDaemon(backend=None)
    python_pass()  # warm the page cache for all alike; the first start creates the data dir
    first_start()
    restart(daemon)
    bare, ready, fresh, rss, heavy = [], [], [], [], set()
    try:
        for _ in range(runs):
            bare.append(python_pass())
            r, m, h = restart(daemon)
            ready.append(r)
            rss.append(m)
            heavy.update(h)
            fresh.append(first_start())
    finally:
        shutil.rmtree(daemon.root, ignore_errors=True)
    imported = imported_by_first_hello()
    med_bare, med_ready, med_fresh = statistics.median(bare), statistics.median(ready), statistics.median(fresh)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load}; greenroom bytecode {'compiled' if compiled else 'NOT compiled (read-only?)'}")
    print(f"python -c pass                  {med_bare:.3f} s (median of {runs})")
    print(
        f"restart: exec -> first hello    {med_ready:.3f} s (min {min(ready):.3f}, max {max(ready):.3f})"
        f" -> {med_ready / med_bare:.1f}x python -c pass"
    )
    print(
        f"first start (fresh data dir)    {med_fresh:.3f} s (min {min(fresh):.3f}, max {max(fresh):.3f})"
        f" -> {med_fresh / med_bare:.1f}x python -c pass; {verdict(med_fresh, med_fresh / med_bare)}"
    )
    print(
        f"  imported by the first hello: {', '.join(imported) or 'nothing heavy'};"
        f" mapped after a second of idle: {', '.join(sorted(heavy)) or 'nothing heavy'}"
    )
    print(f"  idle rss {statistics.median(rss) / 2**20:.0f} MiB (model not loaded: it loads on first use)")
    print(f"goals (restart): {verdict(med_ready, med_ready / med_bare)}")


if __name__ == "__main__":
    main()
