"""The gateway as clients see it, each figure beside a raw pynng baseline from the same run.

1. Control round trip p50, 1 and 8 concurrent clients (one process each): ``Client.task``
   against a daemon, beside a raw pynng Req0 → Rep0 echo of the same sizes. Goal: at 8
   clients, p50 ≤ 2x raw at 8.
2. Single events, publish → ``Client.follow`` p50 (a task submitted for later: one
   ``task.submitted`` at a time, 5 ms apart), beside raw pynng Pub0 → Sub0 of the same
   frames, paced alike, plus a one-row commit of a prebuilt row; 3 rounds of 100 events
   each, the sides interleaved. Goal: ≤ 1.5x (raw + commit). For context (no verdict):
   the raw pipeline, the same submit done with bare libraries in processes as the
   daemon's (Req0 → Rep0, stamp, encode, one-row commit, Pub0 → Sub0). Its commit runs
   right after a request was handled, as the daemon's does: a commit then finds SQLite's
   code and pages out of the CPU caches and costs 2-3x the idle loop's (both printed),
   which the sum above does not see.
3. Fan-out: a burst of 8000 ``llm.chunk`` events (a scripted generation, as fast as the
   daemon streams) to 4 ``Client.follow`` processes: events/s each receives (all of them,
   in order), from the first event's publish to the last one's receipt; beside a raw Pub0
   sending the same number of prebuilt frames as fast as it can to 4 raw Sub0 processes,
   each left to receive until it has all 8000 (or 10 s pass: then the events it lost are
   printed and its rate counts only what it received). Goal: ≥ 90% of raw.
   ``Client.follow`` reads the daemon's batch timeline (several events a frame); the
   same 4 followers reading one event a frame (``batched=False``, as clients before the
   batch timeline did) are printed beside it, for the record. Fan-out runs before the
   busy case: the tasks that case runs leave the daemon embedding their summaries into
   memory for a while after they end, which would otherwise share the cores with it.
4. Busy daemon: the same follower's latency over every event while 100 tasks run and memory
   stores their summaries, as in any daemon that has run a task before: memory's embedding
   model is loaded by a first round, then the round is run again and judged. Goal: p50 ≤ 1
   ms. The first round is printed beside it: loading the model (importing torch, mostly
   Python holding the GIL for seconds) slows every commit's GIL hand-backs meanwhile.
5. Replay storm: ``status`` p99 while 49 followers (7 processes x 7 threads) replay a journal
   of 20k events written before the daemon started (as after a restart) from seq 1, while
   a 20k-token generation streams live at a few thousand tokens/s, so they also heal the
   gaps nng leaves them; beside ``status`` with nobody following. Goal: ≤ 20 ms.

    python -m bench.gateway [--skip control,single,fanout,busy,storm]
"""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pynng

from bench.common import BenchDaemon, percentile
from greenroom.bus import Bus, Envelope, Journal, encode, encode_envelope
from greenroom.bus import events as e
from greenroom.bus import protocol as p
from greenroom.clients import Client

US = 1e6
BURST = 20_000
FAN = 8000
"""Fan-out burst: within nng's buffers (8192 a pipe), so raw pub/sub can deliver all of it too."""
FINISH_S = 10.0
"""How long a raw subscriber may take to receive the whole burst before it is told to stop."""
STORM_EVENTS = 20_000

_ECHO_SERVER = """
import sys, pynng
with pynng.Rep0(listen=sys.argv[1]) as rep:
    print("ready", flush=True)
    while True:
        rep.send(rep.recv())
"""


class Peer:
    """One ``bench.gateway_peers`` process."""

    def __init__(self, role: str, **args: Any) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.gateway_peers", role, json.dumps(args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.role = role
        self.wait_ready()

    def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{self.role} peer did not get ready: {line!r}")

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def result(self, timeout: float = 300, finish: float = 0.0) -> dict[str, Any]:
        """Read its JSON line, giving it ``finish`` seconds to end on its own (it has what it
        counts) before closing its stdin (telling it to stop)."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        stop = threading.Timer(finish, self.proc.stdin.close)
        stop.start()
        line = self.proc.stdout.readline()
        stop.cancel()
        stop.join()
        self.proc.stdin.close()
        self.proc.wait(timeout)
        return json.loads(line)  # type: ignore[no-any-return]


def raw_pub(url: str) -> pynng.Pub0:
    """A Pub0 with the gateway's buffer (8192), the option set before it listens."""
    pub = pynng.Pub0(send_buffer_size=8192)
    pub.listen(url)
    return pub


def p50(xs: list[float]) -> float:
    return percentile(xs, 0.5)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def tmp_ipc(name: str) -> str:
    folder = tempfile.mkdtemp(prefix="grb-", dir="/tmp")
    atexit.register(shutil.rmtree, folder, True)
    return f"ipc://{folder}/{name}.ipc"


# -- 1. control round trips ---------------------------------------------------------------


def control(daemon: BenchDaemon) -> dict[str, Any]:
    with daemon.client() as c:
        task_id = c.submit("a task to look at", time.time() + 3600).task_id
        request = encode(p.GetTask(task_id=task_id))
        reply = encode(c.request(p.GetTask(task_id=task_id), p.TaskReply))
    url = tmp_ipc("echo")
    server = subprocess.Popen([sys.executable, "-c", _ECHO_SERVER, url], stdout=subprocess.PIPE)
    assert server.stdout is not None
    server.stdout.readline()
    payload = (request + b"\0" * max(0, len(reply) - len(request))).hex()
    out: dict[str, Any] = {"reply_bytes": len(reply)}
    try:
        for n, rounds in ((1, 2000), (8, 1000)):
            ours = _together(n, rounds, kind="ours", runtime_dir=str(daemon.runtime_dir), task_id=task_id)
            raw = _together(n, rounds, kind="raw", url=url, payload=payload)
            out[n] = (ours, raw)
    finally:
        server.kill()
    return out


def _together(n: int, rounds: int, **args: Any) -> list[float]:
    peers = [Peer("requests", rounds=rounds, **args) for _ in range(n)]  # each is ready once warmed up
    for peer in peers:
        peer.say("go")
    times: list[float] = []
    for peer in peers:
        times += peer.result()["times"]
    return times


# -- 2. and 4. timeline latency -----------------------------------------------------------


def single_events(daemon: BenchDaemon, count: int = 300) -> list[float]:
    follower = Peer("follow", runtime_dir=str(daemon.runtime_dir), type="task.submitted", count=count)
    with daemon.client() as c:
        for _ in range(count):
            c.submit("later", time.time() + 3600)
            time.sleep(0.005)
    return list(follower.result()["latencies"])


def single_case(daemon: BenchDaemon, rounds: int = 3, count: int = 100) -> tuple[list[float], ...]:
    """Greenroom, raw pub/sub, one-row commits and the raw pipeline, ``count`` events each a round,
    interleaved (each round in another order), so a change in the machine's load between them skews
    no side."""
    runs: dict[str, list[float]] = {"ours": [], "raw": [], "commit": [], "pipeline": [], "pipeline_commit": []}

    def pipeline() -> list[float]:
        latencies, commits = raw_pipeline(count)
        runs["pipeline_commit"] += commits
        return latencies

    cases = {
        "ours": lambda: single_events(daemon, count),
        "raw": lambda: raw_single(count),
        "commit": lambda: one_row_commits(count),
        "pipeline": pipeline,
    }
    order = list(cases)
    for r in range(rounds):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            runs[name] += cases[name]()
    return runs["ours"], runs["raw"], runs["commit"], runs["pipeline"], runs["pipeline_commit"]


def raw_pipeline(count: int = 300) -> tuple[list[float], list[float]]:
    """Submit → client with bare libraries (``gateway_peers.raw_pipeline``: Req0 → Rep0, stamp,
    encode, one-row commit, Pub0 → Sub0), in processes as the daemon's, paced like the events.
    Its commit runs where the request was just handled, as the daemon's does. Latencies and
    the commits' own times."""
    with tempfile.TemporaryDirectory(prefix="grb-", dir="/tmp") as tmp:
        path = Path(tmp) / "j.sqlite"
        Journal(path).close()  # the journal's schema
        req_url, pub_url = f"ipc://{tmp}/req.ipc", f"ipc://{tmp}/pub.ipc"
        server = Peer("raw_pipeline", path=str(path), req_url=req_url, pub_url=pub_url)
        sub = Peer("raw_sub", url=pub_url, count=count)
        time.sleep(0.2)  # the subscription reaches the publisher
        with pynng.Req0(dial=req_url) as req:
            for _ in range(count):
                req.send(b"submit")
                req.recv()
                time.sleep(0.005)
        latencies = list(sub.result()["latencies"])
        commits = server.result()["commits"]
    return latencies, commits


def raw_single(count: int = 300) -> list[float]:
    url = tmp_ipc("pub")
    with raw_pub(url) as pub:
        sub = Peer("raw_sub", url=url, count=count)
        time.sleep(0.2)  # the subscription reaches the publisher
        ev = e.TaskSubmitted(goal="later", run_at=time.time() + 3600, client="bench")
        for seq in range(1, count + 1):
            env = Envelope(seq=seq, ts=time.time(), source="gateway", event=ev, task_id="t-1", correlation_id="t-1")
            pub.send(b"task.submitted " + encode_envelope(env))
            time.sleep(0.005)
        return list(sub.result()["latencies"])


def one_row_commits(count: int = 300) -> list[float]:
    """A prebuilt row committed alone, paced like the events (the journal's single-event cost)."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "j.sqlite")
        body = encode_envelope(Envelope(seq=1, ts=time.time(), source="gateway", event=e.TaskSubmitted(goal="x")))
        times = []
        for seq in range(1, count + 1):
            row = (seq, time.time(), "task.submitted", "t-1", body)
            t = time.perf_counter()
            journal.append([row])
            times.append(time.perf_counter() - t)
            time.sleep(0.005)
        journal.close()
    return times


def busy(daemon: BenchDaemon, tasks: int = 100) -> list[float]:
    follower = Peer("follow", runtime_dir=str(daemon.runtime_dir))
    with daemon.client() as c:
        ids = []
        for _ in range(tasks):
            ids.append(c.submit("bench task").task_id)
            time.sleep(0.02)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(c.task(t).status not in p.TERMINAL_STATUSES for t in ids):
            time.sleep(0.1)
    return list(follower.result()["latencies"])


def settle_memory(daemon: BenchDaemon, timeout: float = 300, empty_s: float = 30) -> None:
    """Wait until memory has stored every summary it is going to (its item count holds for 2 s);
    say so when it stores none (no embedding model here, tasks not remembered) or never settles."""
    with daemon.client() as c:
        last, since, deadline = -1, time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = c.memory_stats().items
            if items != last:
                last, since = items, time.monotonic()
            elif items and time.monotonic() - since >= 2:
                return
            elif not items and time.monotonic() - since >= empty_s:
                print(f"   (memory stored nothing in {empty_s:.0f}s: the judged round has no model loaded)")
                return
            time.sleep(0.25)
    print(f"   (memory kept storing for {timeout:.0f}s: the judged round may share the cores with it)")


# -- 3. fan-out ---------------------------------------------------------------------------


def fanout(daemon: BenchDaemon, batched: bool = True) -> tuple[list[float], list[float], list[int]]:
    """Events/s each of 4 clients receives of a burst: ours (every one, in order) and raw (what arrives)."""
    args = {"runtime_dir": str(daemon.runtime_dir), "type": "llm.chunk", "count": FAN, "batched": batched}
    followers = [Peer("follow", **args) for _ in range(4)]
    with Client(daemon.runtime_dir, timeout=120) as c:
        first = c.status().head + 1
        c.generate([("user", "burst")], purpose="bench-fan")
        start_ts = c.replay(first, first + 10).events[0].ts
    ours = [FAN / (f.result(finish=60)["last_at"] - start_ts) for f in followers]

    url = tmp_ipc("fan")
    with raw_pub(url) as pub:
        subs = [Peer("raw_sub", url=url, count=FAN) for _ in range(4)]
        time.sleep(0.3)  # the subscriptions reach the publisher
        frames = [
            b"llm.chunk "
            + encode_envelope(Envelope(seq=seq, ts=0.0, source="llm", event=e.LlmChunk(request_id="-:x", text="word ")))
            for seq in range(1, FAN + 1)
        ]
        start = time.time()
        for frame in frames:
            pub.send(frame)
        results = [s.result(timeout=60, finish=FINISH_S) for s in subs]
    raw = [len(r["latencies"]) / (r["last_at"] - start) for r in results]
    lost = [FAN - len(r["latencies"]) for r in results]
    return ours, raw, lost


# -- 5. replay storm ----------------------------------------------------------------------


def status_times(client: Client, seconds: float) -> list[float]:
    times = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t = time.perf_counter()
        client.status()
        times.append(time.perf_counter() - t)
        time.sleep(0.005)
    return times


def storm_daemon(root: Path) -> BenchDaemon:
    """A daemon whose journal already holds ``STORM_EVENTS`` events (written before it started, as
    after a restart) and whose scripted model streams a burst at a few thousand tokens/s."""
    script = root / "paced.json"
    script.write_text(json.dumps({"responses": {"bench-burst": "word " * BURST}, "delay_s": 0.0002}))
    daemon = BenchDaemon("--set", f'llm.script="{script}"')
    data = daemon.root / "data"
    data.mkdir(mode=0o700)
    journal = Journal(data / "journal.sqlite")
    bus = Bus(journal)
    for i in range(STORM_EVENTS):
        bus.publish(e.LlmChunk(request_id="-:earlier", text=f"word{i} "), source="llm")
    bus.close()
    journal.close()
    return daemon


def storm(daemon: BenchDaemon) -> dict[str, Any]:
    """49 followers replay the journal from seq 1 while a burst goes out live (so they heal gaps too)."""
    with Client(daemon.runtime_dir, timeout=120) as c:
        quiet = status_times(c, 3)
        until = c.status().head + BURST  # the live burst's chunks come after this
        peers = [Peer("storm", runtime_dir=str(daemon.runtime_dir), threads=7, until=until) for _ in range(7)]

        def burst() -> None:
            with Client(daemon.runtime_dir, timeout=300) as other:
                other.generate([("user", "burst")], purpose="bench-burst")

        live = threading.Thread(target=burst)
        for peer in peers:
            peer.say("go")
        live.start()
        started = time.monotonic()
        during: list[float] = []
        while any(peer.proc.poll() is None for peer in peers) and time.monotonic() - started < 300:
            during += status_times(c, 0.5)
        took = time.monotonic() - started
        live.join()
        results = [peer.result() for peer in peers]
    return {
        "quiet": quiet, "during": during, "events": until, "took": took,
        "followers": sum(len(r["took"]) for r in results), "healed": sum(sum(r["healed"]) for r in results),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="comma-separated parts to skip")
    skip = set(parser.parse_args().skip.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.json"
        script.write_text(json.dumps({"responses": {"bench-burst": "word " * BURST, "bench-fan": "word " * FAN}}))
        daemon = BenchDaemon("--set", f'llm.script="{script}"')
        ready_s = daemon.start()
        try:
            report(daemon, ready_s, skip)
        finally:
            daemon.stop()
        if "storm" not in skip:
            daemon = storm_daemon(Path(tmp))
            daemon.start()
            try:
                report_storm(storm(daemon))
            finally:
                daemon.stop()


def report(daemon: BenchDaemon, ready_s: float, skip: set[str]) -> None:
    print(f"daemon ready in {ready_s:.2f}s (scripted model, masking on, as `greenroom daemon` runs)")
    if "control" not in skip:
        c = control(daemon)
        print(f"1. control round trip (`task`, {c['reply_bytes']}-byte reply) beside a raw pynng echo, same sizes")
        for n in (1, 8):
            ours, raw = c[n]
            ratio = p50(ours) / p50(raw)
            print(
                f"   {n} client{'s' if n > 1 else ' '}: greenroom p50 {p50(ours) * US:6.0f} µs p99"
                f" {percentile(ours, 0.99) * US:6.0f} µs | raw p50 {p50(raw) * US:6.0f} µs -> {ratio:.2f}x"
                + (f"   goal <= 2x raw at 8: {verdict(ratio <= 2)}" if n == 8 else "")
            )
    idle: list[float] = []
    if "single" not in skip:
        idle, raw, commit, pipeline, pipeline_commit = single_case(daemon)
        base = p50(raw) + p50(commit)
        ratio = p50(idle) / base
        print("2. single events, publish -> Client.follow")
        print(
            f"   greenroom p50 {p50(idle) * US:6.0f} µs p99 {percentile(idle, 0.99) * US:6.0f} µs ({len(idle)} events)"
            f" | raw pub/sub p50 {p50(raw) * US:4.0f} µs + one-row commit p50 {p50(commit) * US:4.0f} µs"
            f" = {base * US:4.0f} µs -> {ratio:.2f}x   goal <= 1.5x: {verdict(ratio <= 1.5)}"
        )
        print(
            f"   (context) raw pipeline, submit -> Sub0 with bare pynng and sqlite3 (request in, commit, publish):"
            f" p50 {p50(pipeline) * US:4.0f} µs p99 {percentile(pipeline, 0.99) * US:5.0f} µs"
            f" -> greenroom {p50(idle) / p50(pipeline):.2f}x of it; its one-row commit p50"
            f" {p50(pipeline_commit) * US:4.0f} µs (the idle loop's: {p50(commit) * US:4.0f} µs)"
        )
    if "fanout" not in skip:
        ours, raw, lost = fanout(daemon)
        share = sum(ours) / sum(raw)
        single, raw1, lost1 = fanout(daemon, batched=False)
        print(
            f"3. fan-out, {FAN:,}-event burst to 4 clients: Client.follow {sum(ours) / 4:,.0f} events/s each (all,"
            f" in order) | raw Sub0 {sum(raw) / 4:,.0f} events/s each (lost {lost}) -> {share:.0%}"
            f"   goal >= 90%: {verdict(share >= 0.9)}"
        )
        print(
            f"   one event a frame (batched=False): {sum(single) / 4:,.0f} events/s each | raw Sub0"
            f" {sum(raw1) / 4:,.0f} (lost {lost1}) -> {sum(single) / sum(raw1):.0%}"
        )
    if "busy" not in skip:
        first = busy(daemon)
        settle_memory(daemon)
        lat = busy(daemon)
        ref = f" (idle p50 {p50(idle) * US:.0f} µs)" if idle else ""
        print(
            f"4. busy daemon (tasks running): p50 {p50(lat) * US:6.0f} µs p99 {percentile(lat, 0.99) * US:6.0f} µs"
            f" over {len(lat)} events{ref}   goal p50 <= 1 ms: {verdict(p50(lat) <= 1e-3)}"
        )
        print(
            f"   first round, memory loading its embedding model meanwhile: p50 {p50(first) * US:6.0f} µs"
            f" p99 {percentile(first, 0.99) * US:6.0f} µs over {len(first)} events"
        )


def report_storm(s: dict[str, Any]) -> None:
    q99, d50, d99 = percentile(s["quiet"], 0.99), p50(s["during"]), percentile(s["during"], 0.99)
    print(
        f"5. replay storm: {s['followers']} followers each replayed {s['events']:,} events from seq 1 in"
        f" {s['took']:.1f} s, healing {s['healed']:,} dropped live ones; status p50 {d50 * 1e3:.1f} ms p99"
        f" {d99 * 1e3:.1f} ms | no followers p99 {q99 * 1e3:.1f} ms   goal p99 <= 20 ms: {verdict(d99 <= 0.02)}"
    )


if __name__ == "__main__":
    main()
