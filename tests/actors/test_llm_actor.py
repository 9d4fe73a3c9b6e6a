"""The agent loop on a real mlx-lm model (tiny, random weights) inside the daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from tests.conftest import make_config, wait_for


def test_task_runs_end_to_end_on_mlx(short_tmp: Path, tiny_model: Path, daemon_factory: Any) -> None:
    """Plans, tool calls and verdicts decode under their schemas from real mlx-lm output; tokens stream as events."""
    config = make_config(
        short_tmp,
        None,
        "llm.backend=mlx",
        f'llm.model="{tiny_model}"',
        "llm.max_tokens=1500",
        "agent.max_steps=1",
        "agent.max_rounds=1",
        "agent.route=false",  # random weights: make sure every kind of call is exercised
        "agent.critic='always'",
        "agent.pass_through=false",
    )
    d = daemon_factory(config)
    task_id, _ = d.runtime.submit("what time is it?")

    def settled() -> Any:
        view = d.runtime.tasks.get(task_id)
        for c in view.confirmations:  # random weights may ask for anything: decline
            d.runtime.confirm(c.confirmation_id, approved=False, remember=False)
        return view.status in ("finished", "failed", "cancelled") and view

    view = wait_for(settled, timeout=120, interval=0.1)
    assert view.status == "finished", view.error
    events = [decode_envelope(raw).event for _, raw in d.runtime.journal.read(task_id=task_id)]
    finished = [ev for ev in events if isinstance(ev, e.LlmFinished)]
    assert {ev.purpose for ev in finished} >= {"plan", "step:1:round:1", "verdict:1", "answer"}
    assert all(ev.model == str(tiny_model) for ev in finished)
    assert any(isinstance(ev, e.LlmChunk) for ev in events)
    assert d.runtime.status().model_loaded
