"""kill -9 at random points, over and over: no task lost, no seq hole, no side effect twice, no silent rerun.

Each task runs two steps: a non-idempotent plugin tool that appends its call id
to a ledger file (slowly, so kills land inside it), then an idempotent file
write. After every restart, the test answers each "may already have run: run
again?" question as a careful person would: yes only if the ledger does not
hold that call yet.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from greenroom.tools.plugins import PluginManager
from tests.conftest import call, cli_flags, finish, plan, wait_for, write_script

pytestmark = pytest.mark.slow

KILLS = 20

MANIFEST = """
id = "ledger"
version = "1.0.0"
description = "appends to a ledger"

[[tools]]
name = "ledger.append"
function = "append"
description = "Append this call to the ledger file."
side_effects = "external"
args_schema = { type = "object", properties = { path = { type = "string" } }, required = ["path"] }
"""

CODE = """
import time

def append(args, ctx):
    time.sleep(0.15)
    with open(args["path"], "a") as f:
        f.write(ctx.call_id + "\\n")
    time.sleep(0.15)
    return "appended " + ctx.call_id
"""

RULES = """
[[policy.rules]]
id = "ledger"
tools = ["ledger.*", "fs.write"]
decision = "allow"
"""


def install_plugin(root: Path) -> None:
    src = root / "src" / "ledger"
    src.mkdir(parents=True)
    (src / "plugin.toml").write_text(MANIFEST)
    (src / "plugin.py").write_text(CODE)
    (root / "data").mkdir(mode=0o700)
    manager = PluginManager(root / "data" / "plugins", root / "data" / "state.sqlite")
    manager.install(src)
    manager.close()


def journal(root: Path) -> list[Any]:
    conn = sqlite3.connect(root / "data" / "journal.sqlite")
    try:
        return [decode_envelope(body) for (body,) in conn.execute("SELECT body FROM events ORDER BY seq")]
    finally:
        conn.close()


def answer_reruns(client: Any, ledger: Path) -> int:
    """Answer every pending rerun question the careful way; how many were answered."""
    answered = 0
    done = set(ledger.read_text().split()) if ledger.exists() else set()
    for view in client.tasks():
        for q in view.confirmations:
            if q.kind == "rerun":
                client.confirm(q.confirmation_id, q.call_id not in done)
                answered += 1
    return answered


def test_kill_9_at_random_points_loses_nothing_and_repeats_no_side_effect(short_tmp: Path, daemon_process: Any) -> None:
    """20 kills at random moments over tasks with an idempotent and a non-idempotent side-effecting tool."""
    rng = random.Random(20261203)
    install_plugin(short_tmp)
    ledger = short_tmp / "ledger.txt"
    script = write_script(
        short_tmp / "script.json",
        {
            "plan": plan("append to the ledger", "write the note"),
            "step:1:round:1": call(("ledger.append", {"path": str(ledger)})),
            "step:1:round:2": finish("appended"),
            "step:2:round:1": call(("fs.write", {"path": str(short_tmp / "note.txt"), "content": "done"})),
            "step:2:round:2": finish("written"),
            "answer": "All done.",
        },
        delay_s=0.01,
    )
    (short_tmp / "config.toml").write_text(RULES)
    args = cli_flags(short_tmp, script)
    submitted: list[str] = []
    for _ in range(KILLS):
        daemon = daemon_process(short_tmp, args).start(timeout=60)
        with daemon.client() as c:
            answer_reruns(c, ledger)
            submitted.append(c.submit("append and write").task_id)
        time.sleep(rng.uniform(0.0, 1.2))  # a random point in the work, not a wait for a condition
        assert daemon.kill(signal.SIGKILL) == -signal.SIGKILL

    daemon = daemon_process(short_tmp, args).start(timeout=60)
    with daemon.client() as c:

        def all_ended() -> bool:
            answer_reruns(c, ledger)
            return all(c.task(t).status in ("finished", "failed", "cancelled") for t in submitted)

        wait_for(all_ended, timeout=240, interval=0.2)
        views = {t: c.task(t) for t in submitted}
    daemon.kill(signal.SIGTERM)

    assert {t: v.status for t, v in views.items() if v.status != "finished"} == {}, "no task lost or failed"
    envs = journal(short_tmp)
    assert [env.seq for env in envs] == list(range(1, len(envs) + 1)), "no seq hole"
    appended = ledger.read_text().split()
    assert len(appended) == len(set(appended)), "no side effect happened twice"
    assert len(set(appended)) == len(submitted), "each task's call acted exactly once"
    # Every ledger call that was in flight at a kill (invoked, no result before the next start) became a question.
    invoked_in: dict[str, int] = {}
    life = 0
    interrupted: set[str] = set()
    results: set[str] = set()
    asked: set[str] = set()
    for env in envs:
        match env.event:
            case e.DaemonStarted():
                life += 1
                interrupted |= {c for c, lf in invoked_in.items() if lf < life and c not in results}
            case e.ToolInvoked(call_id=cid, tool="ledger.append"):
                invoked_in[cid] = life
            case e.ToolResult(call_id=cid):
                results.add(cid)
            case e.ConfirmationAsked(kind="rerun", call_id=cid):
                asked.add(cid)
            case _:
                pass
    assert interrupted <= asked, f"in-flight calls rerun without a question: {sorted(interrupted - asked)}"
