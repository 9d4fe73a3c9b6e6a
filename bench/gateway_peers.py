"""The client side of ``bench.gateway``, one role per process: ``python -m bench.gateway_peers ROLE JSON``.

Each prints ``ready`` when it is connected and listening, then one JSON line
with its measurements when done (or when its stdin closes). Clocks: latencies
are ``time.time()`` at receipt minus the sender's wall-clock stamp (the
envelope's ``ts``, set when the daemon numbers the event, or the raw frame's
stamp), both on this machine's one clock.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from inspect import signature
from pathlib import Path
from typing import Any

import pynng

from greenroom.bus import Envelope, decode_envelope, encode_envelope
from greenroom.bus import events as e
from greenroom.clients import Client


def _stdin_closed() -> threading.Event:
    closed = threading.Event()

    def watch() -> None:
        sys.stdin.read()
        closed.set()

    threading.Thread(target=watch, daemon=True).start()
    return closed


def _ready() -> None:
    print("ready", flush=True)


def follow(args: dict[str, Any]) -> dict[str, Any]:
    """``Client.follow`` from now on; latency of every event (or only ``type``); stop at ``count`` of them.

    ``batched`` false: one event a frame (``Client.follow(batched=False)``); a client from
    before the batch timeline reads that way anyway, so the bench runs against older code too.
    """
    stop = _stdin_closed()
    want, count = args.get("type"), args.get("count", 0)
    latencies: list[float] = []
    last_at = 0.0
    started = False
    with Client(Path(args["runtime_dir"]), name="bench-follow", timeout=30) as client:
        options: dict[str, Any] = (
            {"batched": False}
            if "batched" in signature(client.follow).parameters and not args.get("batched", True)
            else {}
        )
        for env in client.follow(idle=0.1, **options):
            now = time.time()
            if env is None:
                if not started:
                    started = True
                    _ready()
                if stop.is_set():
                    break
                continue
            if want is None or env.event.__struct_config__.tag == want:
                latencies.append(now - env.ts)
                last_at = now
                if count and len(latencies) >= count:
                    break
        healed = client.healed
    return {"latencies": latencies, "last_at": last_at, "healed": healed}


def raw_sub(args: dict[str, Any]) -> dict[str, Any]:
    """A bare pynng Sub0: receipt times and frames only; stamps are read after the loop."""
    stop = _stdin_closed()
    frames: list[tuple[float, bytes]] = []
    with pynng.Sub0(recv_buffer_size=8192, recv_timeout=100) as sub:
        sub.subscribe(b"")
        sub.dial(args["url"], block=True)  # after the options, as Client.follow does
        _ready()
        count = args.get("count", 0)
        while not stop.is_set() and (not count or len(frames) < count):
            try:
                frame = sub.recv()
            except pynng.Timeout:
                continue
            frames.append((time.time(), frame))
    stamps = [(at, decode_envelope(frame.partition(b" ")[2]).ts) for at, frame in frames]
    return {"latencies": [at - ts for at, ts in stamps], "last_at": stamps[-1][0] if stamps else 0.0}


def raw_pipeline(args: dict[str, Any]) -> dict[str, Any]:
    """What the daemon does for a submit, with bare libraries: Rep0 request in, the envelope
    stamped and encoded, one row committed (sqlite3, the journal's schema and pragmas), the
    frame published on a Pub0, the reply sent. Until stdin closes."""
    stop = _stdin_closed()
    conn = sqlite3.connect(args["path"], isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "secure_delete=ON"):
        conn.execute(f"PRAGMA {pragma}")
    insert = "INSERT INTO events (seq, ts, type, task_id, body) VALUES (?, ?, ?, ?, ?)"
    event = e.TaskSubmitted(goal="later", run_at=time.time() + 3600, client="bench")
    seq, commits = 0, []
    with pynng.Rep0(listen=args["req_url"], recv_timeout=100) as rep, pynng.Pub0(send_buffer_size=8192) as pub:
        pub.listen(args["pub_url"])
        _ready()
        while not stop.is_set():
            try:
                rep.recv()
            except pynng.Timeout:
                continue
            seq += 1
            task = f"t-{seq:08x}"
            env = Envelope(seq=seq, ts=time.time(), source="gateway", event=event, task_id=task, correlation_id=task)
            body = encode_envelope(env)
            t = time.perf_counter()
            conn.execute(insert, (seq, env.ts, "task.submitted", task, body))
            commits.append(time.perf_counter() - t)
            pub.send(b"task.submitted " + body)
            rep.send(b"ok")
    conn.close()
    return {"commits": commits}


def requests(args: dict[str, Any]) -> dict[str, Any]:
    """``rounds`` control round trips once told to go (stdin): ``task`` through the client, or a raw echo."""
    rounds, warm = args["rounds"], 50
    times: list[float] = []
    if args["kind"] == "raw":
        payload = bytes.fromhex(args["payload"])
        with pynng.Req0(dial=args["url"]) as req:
            for i in range(warm + rounds):
                if i == warm:
                    _ready()
                    sys.stdin.readline()  # "go": every client starts its timed rounds together
                t = time.perf_counter()
                req.send(payload)
                req.recv()
                times.append(time.perf_counter() - t)
    else:
        with Client(Path(args["runtime_dir"]), name="bench-req") as client:
            for i in range(warm + rounds):
                if i == warm:
                    _ready()
                    sys.stdin.readline()
                t = time.perf_counter()
                client.task(args["task_id"])
                times.append(time.perf_counter() - t)
    return {"times": times[warm:]}


def storm(args: dict[str, Any]) -> dict[str, Any]:
    """``threads`` followers, each from seq 1 until it has every event up to ``until``; seconds each took."""
    took: list[float] = []
    healed: list[int] = []
    lock = threading.Lock()
    start = threading.Event()

    def one() -> None:
        with Client(Path(args["runtime_dir"]), name="bench-storm", timeout=60) as client:
            start.wait()
            t = time.perf_counter()
            for env in client.follow(from_seq=1, idle=0.5):
                if env is not None and env.seq >= args["until"]:
                    break
            with lock:
                took.append(time.perf_counter() - t)
                healed.append(client.healed)

    threads = [threading.Thread(target=one) for _ in range(args["threads"])]
    for t in threads:
        t.start()
    _ready()
    sys.stdin.readline()  # "go"
    start.set()
    for t in threads:
        t.join()
    return {"took": took, "healed": healed}


ROLES = {"follow": follow, "raw_sub": raw_sub, "raw_pipeline": raw_pipeline, "requests": requests, "storm": storm}

if __name__ == "__main__":
    result = ROLES[sys.argv[1]](json.loads(sys.argv[2]))
    print(json.dumps(result), flush=True)
