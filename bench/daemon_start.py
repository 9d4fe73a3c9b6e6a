"""Cold start: exec of ``greenroom daemon`` to its first answered hello, beside ``python -c pass``.

Both run in the same loop, alternating (so load on the machine hits both alike),
with the same interpreter; medians of ``--runs``. The daemon runs its default
configuration (the model backend loads lazily, so none loads here) in a fresh
data dir. Also printed: what importing ``greenroom.runtime.daemon`` costs alone
and which heavy packages an idle daemon has imported (none, ideally), and idle RSS.

Goals: ready ≤ 0.5 s on a quiet machine and ≤ 10x ``python -c pass`` in the same run.

    python -m bench.daemon_start [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import psutil

from bench.common import BenchDaemon

READY_GOAL_S = 0.5
RATIO_GOAL = 10.0
HEAVY = (
    "numpy", "pandas", "sqlite_utils", "httpx", "jsonschema", "mlx", "mlx_lm", "mlx_vlm", "torch",
    "transformers", "sentence_transformers", "hnswlib", "tantivy", "huggingface_hub", "llguidance", "lxml",
)  # fmt: skip

_PROBE = """
import json, sys, time
t = time.perf_counter()
import greenroom.runtime.daemon
took = time.perf_counter() - t
print(json.dumps({"seconds": took, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def python_pass() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def daemon_ready() -> tuple[float, int, list[str]]:
    """Seconds from exec to the first hello, idle RSS, heavy packages it holds after a second idle."""
    daemon = BenchDaemon(backend=None)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    python_pass()  # warm the page cache for both alike
    daemon_ready()
    bare, ready, rss, heavy = [], [], [], set()
    for _ in range(runs):
        bare.append(python_pass())
        r, m, h = daemon_ready()
        ready.append(r)
        rss.append(m)
        heavy.update(h)
    probe = json.loads(subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True).stdout)
    imported = [h for h in HEAVY if h in probe["modules"]]
    med_bare, med_ready = statistics.median(bare), statistics.median(ready)
    ratio = med_ready / med_bare
    print(f"python -c pass                 {med_bare:.3f} s (median of {runs})")
    print(
        f"daemon exec -> first hello     {med_ready:.3f} s (median of {runs}; min {min(ready):.3f}, max"
        f" {max(ready):.3f}) -> {ratio:.1f}x python -c pass"
    )
    print(
        f"  import greenroom.runtime.daemon alone: {probe['seconds']:.3f} s; heavy packages it imports:"
        f" {', '.join(imported) or 'none'}; mapped by the idle daemon: {', '.join(sorted(heavy)) or 'none'}"
    )
    print(f"  idle rss {statistics.median(rss) / 2**20:.0f} MiB (model not loaded: it loads on first use)")
    print(
        f"goals: ready <= {READY_GOAL_S} s {'met' if med_ready <= READY_GOAL_S else 'MISSED'};"
        f" <= {RATIO_GOAL:g}x python -c pass {'met' if ratio <= RATIO_GOAL else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
