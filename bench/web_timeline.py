"""Timeline publish → receipt in browser tabs (the real page over ws) beside an ipc subscriber, same run.

Events are ``policy.offline`` toggles requested over ipc, paced or in a burst. Latency is the
receiver's wall clock minus the event's ``ts`` (set when the bus accepts it): in the page it is
taken when the event is handed to the UI, in order, after gap healing; for ipc when a Sub0 frame
is decoded. Runs with 1 tab, then 4 tabs (fan-out), each beside the ipc subscriber.

    python -m bench.web_timeline [--events 300] [--burst 1000]
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from typing import Any

import pynng

from bench.common import BenchDaemon, percentile
from greenroom.bus import decode_envelope

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class IpcSubscriber:
    """A Sub0 on the ipc timeline recording (seq, arrival wall time)."""

    def __init__(self, url: str) -> None:
        self.sub = pynng.Sub0(recv_buffer_size=8192, recv_timeout=200)
        self.sub.subscribe(b"")
        self.sub.dial(url, block=True)
        self.arrivals: dict[int, float] = {}
        self.ts: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self.sub.recv()
            except pynng.Timeout:
                continue
            now = time.time()
            env = decode_envelope(frame.partition(b" ")[2])
            self.arrivals[env.seq] = now
            self.ts[env.seq] = env.ts

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sub.close()


def publish(client: Any, n: int, pace_s: float) -> tuple[int, int]:
    """n offline toggles; returns the seq range they got."""
    first = last = 0
    for i in range(n):
        seq = client.set_offline(i % 2 == 0).seq
        first, last = first or seq, seq
        if pace_s:
            time.sleep(pace_s)  # pacing the load generator, not waiting for a result
    return first, last


def page_arrivals(page: Any) -> dict[int, float]:
    return {int(seq): t / 1000 for seq, t in page.evaluate("window.greenroom.arrivals")}


def latencies(arrivals: dict[int, float], ts: dict[int, float], seqs: range) -> list[float]:
    return [arrivals[s] - ts[s] for s in seqs if s in arrivals and s in ts]


def run_round(browser: Any, daemon: BenchDaemon, url_for: Any, tabs: int, events: int, burst: int) -> None:
    pages = []
    for _ in range(tabs):
        page = browser.new_context(bypass_csp=True).new_page()
        page.goto(url_for())
        page.wait_for_function("window.greenroom.ready === true", timeout=30000)
        pages.append(page)
    client = daemon.client()
    assert client.hello is not None
    ipc = IpcSubscriber(client.hello.timeline)
    for name, n, pace in (("paced", events, 0.01), ("burst", burst, 0.0)):
        first, last = publish(client, n, pace)
        seqs = range(first, last + 1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for every receiver to have the last event
            done = [p.evaluate(f"window.greenroom.events.at(-1)?.seq >= {last}") for p in pages]
            if all(done) and last in ipc.arrivals:
                break
            time.sleep(0.05)
        ts = dict(ipc.ts)
        ipc_lat = latencies(ipc.arrivals, ts, seqs)
        rows = [("ipc Sub0", ipc_lat, len(ipc_lat))]
        for i, page in enumerate(pages):
            arr = page_arrivals(page)
            lat = latencies(arr, ts, seqs)
            rows.append((f"tab {i + 1}/{tabs}", lat, len([s for s in seqs if s in arr])))
        for label, lat, got in rows:
            if not lat:
                print(f"  {name:<6} {label:<10} no samples")
                continue
            p50, p95 = percentile(lat, 0.5) * 1000, percentile(lat, 0.95) * 1000
            print(f"  {name:<6} {label:<10} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  received {got}/{len(seqs)}")
    ipc.close()
    client.close()
    for page in pages:
        page.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="paced events (10 ms apart)")
    parser.add_argument("--burst", type=int, default=1000, help="events as fast as the control socket takes them")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    daemon = BenchDaemon("--set", "gateway.web=true", "--set", "gateway.web_port=0", "--set", "gateway.ws_port=0")
    daemon.start()
    try:
        with daemon.client() as c:
            assert c.hello is not None
            web = c.hello.transports["web"]

        def url_for() -> str:
            with daemon.client() as c:
                return f"{web}#token={c.create_token('viewer', 'bench', 600).token}"

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for tabs in (1, 4):
                print(f"{tabs} browser tab(s) + 1 ipc subscriber, same events:")
                run_round(browser, daemon, url_for, tabs, args.events, args.burst)
            browser.close()
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
