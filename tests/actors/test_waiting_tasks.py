"""Waiting costs nothing: tasks parked on questions hold no thread, and each answer wakes exactly its task."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import call, finish, make_config, plan, wait_for, write_script

pytestmark = pytest.mark.slow

TASKS = 200


def test_two_hundred_waiting_tasks_hold_no_threads_and_one_answer_resumes_one_task(
    short_tmp: Path, daemon_factory: Any
) -> None:
    """200 tasks waiting for a person: the thread count is what it was with none; answering one resumes it alone."""
    script = write_script(
        short_tmp / "s.json",
        {
            "plan": plan("remember it"),
            "step:1:round:1": call(("memory.remember", {"text": "a note"})),
            "step:1:round:2": finish("remembered"),
            "answer": "Remembered.",
        },
    )
    d = daemon_factory(make_config(short_tmp, script, "memory.rerank=false"))
    with d.client() as c:
        c.status()
        threads_idle = threading.active_count()
        ids = [c.submit(f"remember note {i}").task_id for i in range(TASKS)]
        wait_for(lambda: d.runtime.tasks.counts().get("waiting", 0) == TASKS, timeout=240, interval=0.1)
        threads_waiting = threading.active_count()
        assert threads_waiting - threads_idle <= d.runtime.config.agent.tool_workers, (threads_idle, threads_waiting)
        chosen = random.Random(7).choice(ids)
        (question,) = c.task(chosen).confirmations
        c.confirm(question.confirmation_id, True)
        wait_for(lambda: c.task(chosen).status == "finished", timeout=60)
        counts = d.runtime.tasks.counts()
        assert (counts.get("finished"), counts.get("waiting")) == (1, TASKS - 1)
        assert all(c.task(t).status == "waiting" for t in ids if t != chosen)
