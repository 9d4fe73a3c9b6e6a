"""CLI commands end to end against a running daemon, beside ``python -c pass`` in the same run.

Each sample is a fresh ``greenroom status`` / ``greenroom tasks`` process, timed from
exec to exit (interpreter start, imports, config, connect, hello, the request, the
output). Goal: p50 <= 300 ms for both. Also printed: where a command's import time
goes (``python -X importtime``), the top few modules.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import BenchDaemon, percentile

RUNS = 30
GOAL_S = 0.300


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ}, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[-1]} failed: {proc.stderr.decode()}")
    return elapsed


def import_profile(argv: list[str], top: int = 5) -> list[tuple[int, str]]:
    """The modules with the largest cumulative import time (µs) in one run of ``argv``."""
    proc = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit() and not name.startswith("   "):  # top-level imports only
                rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    daemon = BenchDaemon()
    daemon.start()
    try:
        base = [sys.executable, "-m", "greenroom", *daemon.argv[3:-1]]  # the daemon's own flags, no command
        commands = {"status": [*base, "status"], "tasks": [*base, "tasks"]}
        baseline = [sys.executable, "-c", "pass"]
        for argv in (baseline, *commands.values()):  # warm the page cache: every side starts warm
            timed(argv)
        samples: dict[str, list[float]] = {"python -c pass": [], **{name: [] for name in commands}}
        for _ in range(RUNS):  # interleaved, so load on the machine hits every side alike
            samples["python -c pass"].append(timed(baseline))
            for name, argv in commands.items():
                samples[name].append(timed(argv))
        bare = percentile(samples["python -c pass"], 0.5)
        print(f"{'command':<16} {'p50':>8} {'p90':>8} {'x bare':>7}   ({RUNS} runs each, exec to exit)")
        for name, values in samples.items():
            p50, p90 = percentile(values, 0.5), percentile(values, 0.9)
            print(f"{name:<16} {p50 * 1e3:7.0f}ms {p90 * 1e3:7.0f}ms {p50 / bare:6.1f}x")
        for name, argv in commands.items():
            top = ", ".join(f"{mod} {us / 1e3:.0f}ms" for us, mod in import_profile(argv))
            print(f"imports of greenroom {name}: {top}")
        for name in commands:
            p50 = percentile(samples[name], 0.5)
            verdict = "met" if p50 <= GOAL_S else "MISSED"
            print(f"goal: greenroom {name} p50 <= {GOAL_S * 1e3:.0f} ms: {verdict} ({p50 * 1e3:.0f} ms)")
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
