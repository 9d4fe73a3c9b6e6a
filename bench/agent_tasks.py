"""First tries, measured: 42 simple tasks on the embedded default, each with a deterministic check.

Questions that need no tool, arithmetic, the time, reading a named file, writing a note under the
notes folder (a policy rule allows it), listing a folder, recalling a note stored
beforehand, fetching a page from a local server, and two-step tasks. For each loop
configuration it prints tasks correct, model calls and generated tokens per task, and
end-to-end seconds (median and p90) for tasks without tools and with one tool; and it
checks every task for a side effect it claims that its journal does not show.

Configurations: ``default`` (everything on), each change switched off alone, and
``classic`` (all of them off: the loop as it was: plan, rounds, Critic on every step,
an answer call). Run ``python -m bench.agent_tasks [--configs default,classic] [--sample 10]
[--task-timeout 600]`` (the slow configurations on a spread sample of the tasks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.agent_tasks_data import FILES, MEMORIES, PAGES, TASKS, EvalTask
from bench.common import BenchDaemon, percentile
from greenroom.actors.claims import unsupported_claim
from greenroom.bus import events as e
from greenroom.clients import Client

CONFIGS: dict[str, list[str]] = {
    "default": [],
    "no tool matching": ["agent.match_tools=false"],
    "no direct answers": ["agent.route=false", "agent.match_tools=false"],
    "critic on every step": ["agent.critic='always'"],
    "no forced tools": ["agent.forced_tools=false"],
    "no pass-through": ["agent.pass_through=false"],
    "no fast-forward": ["llm.fast_forward=false"],
    "classic": [
        "agent.match_tools=false",
        "agent.route=false",
        "agent.critic='always'",
        "agent.forced_tools=false",
        "agent.pass_through=false",
    ],
}
EFFECTS = {"fs.write": "write", "fs.patch": "write", "memory.remember": "write", "memory.forget": "write"}


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGES.get(self.path, "not found").encode()
        self.send_response(200 if self.path in PAGES else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Outcome:
    task: EvalTask
    correct: bool
    status: str
    answer: str
    calls: int
    tokens: int
    seconds: float
    tools: list[str] = field(default_factory=list)
    false_claim: str = ""


def prepare(root: Path) -> None:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def run_task(client: Any, task: EvalTask, url: str, root: Path, timeout: float) -> Outcome:
    goal = task.goal.replace("{url}", url)
    submitted = client.submit(goal)
    deadline = time.monotonic() + timeout
    while True:
        view = client.task(submitted.task_id)
        for q in view.confirmations:
            client.confirm(q.confirmation_id, True)
        if view.status in ("finished", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:  # counted as wrong; cancelled so it does not run beside the next
            client.cancel(submitted.task_id)
            break
        time.sleep(0.1)  # a person glancing at the task: the bench polls, it measures journal times
    envs = client.replay(submitted.seq, task_id=submitted.task_id, limit=5000).events
    events = [env.event for env in envs]
    finished = [ev for ev in events if isinstance(ev, e.LlmFinished)]
    results = [ev for ev in events if isinstance(ev, e.ToolResult)]
    ended = next((env.ts for env in envs if isinstance(env.event, e.TERMINAL_EVENTS)), envs[-1].ts)
    answer = view.answer or view.error
    effects = [EFFECTS.get(r.tool, "read") for r in results if r.ok]
    claims = [ev.result for ev in events if isinstance(ev, e.StepFinished)] + [view.answer]
    false_claim = next((c for c in claims if c and unsupported_claim(c, effects)), "")
    ok = view.status == "finished" and task.check(answer, root, [r.tool for r in results if r.ok])
    return Outcome(
        task, ok, view.status, answer, len(finished), sum(f.generated_tokens for f in finished),
        ended - envs[0].ts, [r.tool for r in results], false_claim,
    )  # fmt: skip


def run_config(
    name: str, sets: list[str], url: str, verbose: bool, tasks: list[EvalTask], timeout: float
) -> list[Outcome]:
    defaults = ["llm.backend=mlx", "agent.match_tools=true"]  # BenchDaemon's scripted defaults, undone
    daemon = BenchDaemon(*[x for s in [*defaults, *sets] for x in ("--set", s)])
    root = daemon.root / "home"
    root.mkdir()
    prepare(root)
    rules = (
        '[[policy.rules]]\nid = "notes"\ntools = ["fs.write"]\ndecision = "allow"\n'
        f'when = {{ path_under = ["{root}/notes"] }}\n'
    )
    (daemon.root / "config.toml").write_text(f'[tools]\nfs_roots = ["{root}"]\n\n{rules}')
    models = daemon.root / "data" / "models"
    models.mkdir(parents=True, mode=0o700)
    (daemon.root / "data").chmod(0o700)
    shared = Path(os.environ.get("GREENROOM_BENCH_MODELS", "/tmp/grb-models"))
    if (shared / "smollm2-135m").exists():
        os.symlink(shared / "smollm2-135m", models / "smollm2-135m")
    daemon.start()
    outcomes = []
    try:
        with Client(daemon.runtime_dir, name="bench", timeout=600).connect() as client:
            for text, tags in MEMORIES:
                client.memory_add(text, tags)
            for task in tasks:
                outcome = run_task(client, task, url, root, timeout)
                outcomes.append(outcome)
                if verbose:
                    mark = "ok " if outcome.correct else "BAD"
                    print(
                        f"  {mark} {outcome.seconds:6.1f}s {outcome.calls}c {task.goal[:50]:50}"
                        f" -> {outcome.answer[:70]!r}"
                    )
    finally:
        daemon.stop()
    return outcomes


def summary(name: str, outcomes: list[Outcome]) -> str:
    def secs(kind: Callable[[Outcome], bool]) -> str:
        times = [o.seconds for o in outcomes if kind(o)]
        return f"{statistics.median(times):5.1f} / {percentile(times, 0.9):5.1f}" if times else "  -  "

    correct = sum(o.correct for o in outcomes)
    claims = sum(bool(o.false_claim) for o in outcomes)
    return (
        f"{name:22} {correct:2d}/{len(outcomes)} ({correct / len(outcomes):4.0%})  "
        f"calls {statistics.mean(o.calls for o in outcomes):4.1f}  "
        f"tokens {statistics.mean(o.tokens for o in outcomes):6.1f}  "
        f"no-tool s {secs(lambda o: o.task.kind == 'answer')}  one-tool s {secs(lambda o: o.task.kind in ONE_TOOL)}  "
        f"false claims {claims}"
    )


ONE_TOOL = ("time", "read", "list", "write", "recall", "fetch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names of CONFIGS")
    parser.add_argument("--quiet", action="store_true", help="only the summary lines")
    parser.add_argument("--sample", type=int, default=0, help="every k-th task, about this many (0: all)")
    parser.add_argument("--task-timeout", type=float, default=600.0, help="seconds before a task is cancelled")
    args = parser.parse_args()
    tasks = TASKS[:: max(1, len(TASKS) // args.sample)] if args.sample else TASKS
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"{len(tasks)} tasks, embedded default, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("columns: correct; mean model calls and generated tokens per task; seconds median / p90")
    lines = []
    for name in args.configs.split(","):
        print(f"== {name}")
        outcomes = run_config(name, CONFIGS[name], url, not args.quiet, tasks, args.task_timeout)
        lines.append(summary(name, outcomes))
        print(lines[-1])
        bad = [o for o in outcomes if o.false_claim]
        for o in bad:
            print(f"  false claim in {o.task.goal!r}: {o.false_claim[:100]!r}")
    server.shutdown()
    print("\n".join(["", "summary", *lines]))
    now = dt.datetime.now()
    print(f"goals: >= 85% correct; median <= 15 s without tools, <= 30 s with one tool; 0 false claims ({now:%H:%M})")


if __name__ == "__main__":
    main()
