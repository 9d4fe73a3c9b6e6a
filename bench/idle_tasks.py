"""Waiting costs nothing: a daemon with 200 tasks waiting for a person, beside the same daemon with none.

Prints the daemon's thread count and its CPU use over 60 s of idleness for both,
and checks that answering one question resumes exactly that task. Goals: the
same thread count (± the tool pool) and under 1% of one core while idle.
"""

from __future__ import annotations

import json
import random
import time

import psutil

from bench.common import BenchDaemon

TASKS = 200
IDLE_S = 60.0

SCRIPT = {
    "responses": {
        "plan": json.dumps({"steps": [{"intent": "remember it", "tools": []}]}),
        "step:1:round:1": json.dumps(
            {"action": "call_tools", "calls": [{"tool": "memory.remember", "args": {"text": "x"}}]}
        ),
        "step:1:round:2": json.dumps({"action": "finish", "result": "remembered"}),
        "answer": "Remembered.",
    }
}


def idle_cost(proc: psutil.Process, seconds: float) -> tuple[int, float]:
    """(threads, percent of one core) over ``seconds`` of idleness."""
    before = proc.cpu_times()
    time.sleep(seconds)  # measuring idleness is waiting on purpose
    after = proc.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return proc.num_threads(), 100 * used / seconds


def wait_until(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.2)


def main() -> None:
    script_path = BenchDaemon().root / "script.json"
    script_path.write_text(json.dumps(SCRIPT))
    daemon = BenchDaemon("--set", f'llm.script="{script_path}"')
    daemon.start()
    assert daemon.proc is not None
    proc = psutil.Process(daemon.proc.pid)
    try:
        with daemon.client() as c:
            threads_none, cpu_none = idle_cost(proc, IDLE_S)
            ids = [c.submit(f"remember note {i}").task_id for i in range(TASKS)]
            wait_until(lambda: c.status().tasks.get("waiting", 0) == TASKS, 600)
            threads_many, cpu_many = idle_cost(proc, IDLE_S)
            chosen = random.Random(1).choice(ids)
            c.confirm(c.task(chosen).confirmations[0].confirmation_id, True)
            wait_until(lambda: c.task(chosen).status == "finished", 120)
            others_waiting = sum(c.task(t).status == "waiting" for t in ids if t != chosen)
    finally:
        daemon.stop()
    span = f"of one core over {IDLE_S:.0f} s"
    print(f"idle daemon, no tasks:             {threads_none:3d} threads, CPU {cpu_none:.3f}% {span}")
    print(f"idle daemon, {TASKS} tasks waiting:   {threads_many:3d} threads, CPU {cpu_many:.3f}% {span}")
    print(f"answering one resumed it alone:    {others_waiting == TASKS - 1} ({others_waiting} others still waiting)")
    same = abs(threads_many - threads_none) <= 4
    print(
        f"goals: same threads (± the pool of 4) {'met' if same else 'MISSED'}; "
        f"idle CPU < 1% {'met' if max(cpu_none, cpu_many) < 1 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
