"""Control round trip and publish → client latency, beside a raw pynng echo in the same run."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

import pynng

from bench.common import BenchDaemon, percentile
from greenroom.bus import decode_envelope, encode
from greenroom.bus import protocol as p

ROUNDS = 3000
SUBMITS = 150

_ECHO_SERVER = """
import sys, pynng
with pynng.Rep0(listen=sys.argv[1]) as rep:
    print("ready", flush=True)
    while True:
        rep.send(rep.recv())
"""


def raw_echo(payload: bytes) -> list[float]:
    """Round trips to a raw pynng Rep0 echo server in another process, same payload."""
    url = f"ipc://{tempfile.mkdtemp(prefix='grb-', dir='/tmp')}/echo.ipc"
    server = subprocess.Popen([sys.executable, "-c", _ECHO_SERVER, url], stdout=subprocess.PIPE)
    assert server.stdout is not None
    server.stdout.readline()
    times = []
    with pynng.Req0(dial=url) as req:
        for _ in range(ROUNDS + 100):
            t = time.perf_counter()
            req.send(payload)
            req.recv()
            times.append(time.perf_counter() - t)
    server.kill()
    return times[100:]


def daemon_round_trips(daemon: BenchDaemon, task_id: str) -> list[float]:
    client = daemon.client()
    times = []
    for _ in range(ROUNDS + 100):
        t = time.perf_counter()
        client.task(task_id)
        times.append(time.perf_counter() - t)
    client.close()
    return times[100:]


def timeline_latency(daemon: BenchDaemon, busy: bool) -> list[float]:
    """Publish (envelope ts, wall clock in the daemon) → receipt by a subscribed client.

    Idle: one event at a time (a task submitted for later). Busy: every event of
    tasks that run right away, while the daemon works on them.
    """
    client = daemon.client()
    assert client.hello is not None
    latencies: list[float] = []
    with pynng.Sub0(dial=client.hello.timeline, recv_timeout=20, recv_buffer_size=8192) as sub:
        sub.subscribe(b"")
        time.sleep(0.2)  # let the subscription connect before the first event
        submitter = daemon.client()
        for _ in range(SUBMITS):
            submitter.submit("bench task", None if busy else time.time() + 3600)
            deadline = time.monotonic() + 0.02
            while time.monotonic() < deadline:
                try:
                    frame = sub.recv()
                except pynng.Timeout:
                    break
                received = time.time()
                env = decode_envelope(frame.partition(b" ")[2])
                latencies.append(received - env.ts)
        submitter.close()
    client.close()
    return latencies


def main() -> None:
    daemon = BenchDaemon()
    ready_s = daemon.start()
    try:
        with daemon.client() as c:
            task_id = c.submit("a task to look at").task_id
            request = encode(p.GetTask(task_id=task_id))
            reply = c.request(p.GetTask(task_id=task_id), p.TaskReply)
        payload = encode(p.TaskReply(task=reply.task))
        ours = daemon_round_trips(daemon, task_id)
        raw = raw_echo(request + b"\0" * max(0, len(payload) - len(request)))
        idle = timeline_latency(daemon, busy=False)
        busy = timeline_latency(daemon, busy=True)
    finally:
        daemon.stop()
    us = 1e6
    print(f"control round trip ({ROUNDS} requests, `task`, {len(payload)}-byte reply), daemon ready in {ready_s:.2f}s")
    print(f"  raw pynng echo     p50 {percentile(raw, 0.5) * us:7.0f} µs   p99 {percentile(raw, 0.99) * us:7.0f} µs")
    p50, p99 = percentile(ours, 0.5), percentile(ours, 0.99)
    ratio = p50 / percentile(raw, 0.5)
    print(f"  greenroom gateway  p50 {p50 * us:7.0f} µs   p99 {p99 * us:7.0f} µs   ({ratio:.2f}x raw p50)")
    print(f"  target p50 <= 2x raw: {'met' if ratio <= 2 else 'MISSED'}")
    print("publish -> client receipt (journal commit included)")
    for name, lat in (("idle daemon", idle), ("busy daemon", busy)):
        lp50, lp99 = percentile(lat, 0.5), percentile(lat, 0.99)
        verdict = "met" if lp50 <= 1e-3 else "MISSED"
        stats = f"p50 {lp50 * us:7.0f} µs   p99 {lp99 * us:7.0f} µs"
        print(f"  {name}: {len(lat):5d} events  {stats}   p50 <= 1 ms: {verdict}")


if __name__ == "__main__":
    main()
