"""Daemon start-up (until it answers) and idle memory, beside a bare Python process."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from bench.common import BenchDaemon

RUNS = 5


def bare_python() -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdout.write('x'); sys.stdout.flush(); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    proc.stdout.read(1)
    elapsed = time.perf_counter() - started
    rss = psutil.Process(proc.pid).memory_info().rss
    proc.stdin.close()
    proc.wait()
    return elapsed, rss


def main() -> None:
    bare = [bare_python() for _ in range(RUNS)]
    ready, rss = [], []
    for _ in range(RUNS):
        for backend in ("scripted", "mlx"):
            daemon = BenchDaemon("--set", f"llm.backend={backend}")
            ready.append((backend, daemon.start()))
            assert daemon.proc is not None
            time.sleep(1.0)  # idle: let start-up work settle before reading memory
            rss.append((backend, psutil.Process(daemon.proc.pid).memory_info().rss))
            daemon.stop()
    mib = 2**20
    print(
        f"bare python:            start {min(b[0] for b in bare):.3f}s   rss {min(b[1] for b in bare) / mib:6.1f} MiB"
    )
    for backend in ("mlx", "scripted"):
        r = sorted(t for b, t in ready if b == backend)
        m = sorted(x for b, x in rss if b == backend)
        print(
            f"daemon ({backend:8}):     ready {r[len(r) // 2]:.3f}s (median of {RUNS}, from exec to first hello)"
            f"   idle rss {m[len(m) // 2] / mib:6.1f} MiB (model not loaded: it loads on first use)"
        )
    worst_ready = max(t for _, t in ready)
    worst_rss = max(x for _, x in rss)
    print(
        f"target ready <= 1 s: {'met' if worst_ready <= 1 else 'MISSED'} (worst {worst_ready:.3f}s); "
        f"idle rss <= 200 MB: {'met' if worst_rss <= 200e6 else 'MISSED'} (worst {worst_rss / 1e6:.0f} MB)"
    )


if __name__ == "__main__":
    main()
