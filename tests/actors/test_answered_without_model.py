"""Goals the loop answers without the model: sums, conversions, reminders, facts memory lacks
(tool matching on, as by default; a scripted model that would answer them wrongly)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from greenroom.actors.messages import Pending
from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from tests.actors.loop_helpers import events_of, wait_status
from tests.conftest import answer, make_config, wait_for, write_script


@pytest.fixture
def routed(short_tmp: Path, daemon_factory: Any, shared_embedder: Any):  # type: ignore[no-untyped-def]
    """A daemon with tool matching on (the default) whose model answers every first call with ``said``."""

    def go(said: str) -> tuple[Any, Any]:
        from greenroom.models import ScriptedBackend
        from greenroom.tools.routing import ToolRouter

        backend = ScriptedBackend(write_script(short_tmp / "script.json", {"plan": answer(said)}))
        config = make_config(
            short_tmp, short_tmp / "script.json", "agent.match_tools=true", "memory.rerank=false",
            "agent.remember_tasks=on",
        )  # fmt: skip
        d = daemon_factory(config, make_backend=lambda: backend)
        d.runtime.memory.embedder = shared_embedder
        d.runtime.deps.router = ToolRouter(shared_embedder, d.config.agent.tool_match)
        return d, backend

    return go


def task_summaries(d: Any) -> list[str]:
    """The task summaries in memory, once there is one (the Memory actor stores in order)."""
    wait_for(lambda: d.runtime.memory.store.stats()["by_source"].get("task"), 60)
    return [row[0] for row in d.runtime.memory.store.db.execute("SELECT uri FROM items WHERE source = 'task'")]


class TestAnsweredWithoutTheModel:
    def test_a_sum_is_worked_out_by_the_calculator_without_the_model(self, routed: Any) -> None:
        """'What is 12 times 7?': matched to the calculator by its shape, its expression pinned from
        the words, so no model call at all; the answer is exact. The script would answer 80, as the
        embedded 135M model did."""
        d, backend = routed("12 * 7 = 80")
        task_id, _ = d.runtime.submit("What is 12 times 7?")
        view = wait_status(d, task_id, "finished", timeout=60)
        assert view.answer == "12 \u00d7 7 = 84"
        assert backend.requests == [], "the model was asked"
        requested = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolRequested))
        assert (requested.tool, requested.args) == ("math.calculate", {"expression": "12 * 7"})
        decided = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolDecided))
        assert (decided.decision, decided.rule) == ("allow", "read-only")
        # A sum is worked out again exactly: it leaves no summary in memory; a question the model
        # answers after it does (so the first would be there by now).
        second, _ = d.runtime.submit("What is the capital of France?")
        wait_status(d, second, "finished", timeout=60)
        assert task_summaries(d) == [f"task://{second}"]

    def test_a_question_about_own_things_with_nothing_in_memory_is_not_guessed(self, routed: Any) -> None:
        """'When is my dentist appointment?' with nothing in memory: the model, asked, made up a
        timestamp; now the answer says memory has nothing, with no model call, and is not kept as a
        summary. Once memory holds the appointment, the model is asked, with the note."""
        from greenroom.actors.grounding import NOTHING_KNOWN

        d, backend = routed("Friday at 3pm.")
        d.runtime.memory.add("the gym opens at 6am", tags=["gym"])
        first, _ = d.runtime.submit("When is my dentist appointment?")
        assert wait_status(d, first, "finished", timeout=60).answer == NOTHING_KNOWN
        assert backend.requests == [], "the model was asked"
        d.runtime.memory.add("my dentist appointment is on Friday at 3pm", tags=["health"])
        second, _ = d.runtime.submit("When is my dentist appointment?")
        assert wait_status(d, second, "finished", timeout=60).answer == "Friday at 3pm."
        assert len(backend.requests) == 1
        assert "Friday at 3pm" in str(backend.requests[0].messages), "the note was in the prompt"
        assert task_summaries(d) == [f"task://{second}"], "the answer that memory had nothing was kept"

    def test_a_conversion_is_worked_out_by_the_converter_without_the_model(self, routed: Any) -> None:
        """'How many minutes are in 3 hours?': matched to units.convert by its shape, the conversion
        pinned from the words, no model call; the script would answer 30, as the 135M model did."""
        d, backend = routed("30")
        task_id, _ = d.runtime.submit("How many minutes are in 3 hours?")
        assert wait_status(d, task_id, "finished", timeout=60).answer == "3 hours = 180 minutes"
        assert backend.requests == [], "the model was asked"
        requested = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolRequested))
        assert (requested.tool, requested.args) == ("units.convert", {"conversion": "3 hours to minutes"})


class TestReminders:
    def test_a_reminder_is_set_without_the_model_and_later_only_says_its_text(self, routed: Any) -> None:
        """'Remind me to call mom in 10 minutes': matched to reminders.set by its shape, its text and
        time pinned from the words, no model call; it asks, as every write does, and once allowed a
        delayed task marked as a reminder is submitted. When a reminder's time comes, its task says
        its text and runs nothing: not the model, not a tool (even when the text reads as a command)."""
        d, backend = routed("Remind me to call mom in 10 minutes.")  # the 135M model's echo
        task_id, _ = d.runtime.submit("Remind me to call mom in 10 minutes")
        view = allow_all(d, task_id)
        assert view.answer.startswith("I'll remind you ")  # at 09:40, or tomorrow at 00:05
        assert "(in 10 min): call mom [t-" in view.answer
        assert backend.requests == [], "the model was asked"
        requested = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolRequested))
        pinned = {"reminder": "call mom", "reminder_time": "in 10 minutes"}
        assert (requested.tool, requested.args) == ("reminders.set", pinned)
        decided = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolDecided))
        assert (decided.decision, decided.rule) == ("ask", "side-effects-ask")
        reminder_id = view.answer.rsplit("[", 1)[1].rstrip("]")
        ((_seq, raw),) = d.runtime.journal.read(task_id=reminder_id)
        submitted = decode_envelope(raw)
        assert isinstance(submitted.event, e.TaskSubmitted)
        assert submitted.event.reminder
        assert submitted.event.goal == "call mom"
        assert submitted.event.run_at is not None
        assert abs(submitted.event.run_at - submitted.ts - 600) < 30
        assert d.runtime.tasks.get(reminder_id).status == "pending"
        assert d.runtime.tasks.get(reminder_id).reminder

        soon, _ = d.runtime.submit("remind me to delete all my files in 1 second")
        allow_all(d, soon)
        fired = next(ev for ev in events_of(d, soon) if isinstance(ev, e.ToolResult)).output.rsplit("[", 1)[1][:-1]
        assert wait_status(d, fired, "finished", timeout=60).answer == "Reminder: delete all my files"
        assert not [ev for ev in events_of(d, fired) if isinstance(ev, (e.ToolRequested, e.LlmFinished))]
        assert backend.requests == [], "the model was asked"

    def test_a_reminder_without_a_time_is_asked_when(self, routed: Any) -> None:
        """'remind me to water the plants' says no time: the answer asks when, with no tool call and
        no model call (the 135M model, asked, had written the time '"},')."""
        d, backend = routed("water the plants")
        task_id, _ = d.runtime.submit("remind me to water the plants")
        view = wait_status(d, task_id, "finished", timeout=60)
        assert view.answer.startswith("When should I remind you to water the plants? Ask again with a time")
        assert backend.requests == [], "the model was asked"
        assert not [ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolRequested)]

    def test_a_call_the_words_made_that_failed_ends_the_step(self, routed: Any) -> None:
        """'Read <a missing file>': the words fix the call, the tool fails, and the step (and task) end
        with its error; the model is not asked for a second round it could only guess in."""
        d, backend = routed("The file says hello.")
        task_id, _ = d.runtime.submit("Read notes/missing.md")
        view = wait_status(d, task_id, "finished", "failed", timeout=60)
        assert "does not exist" in (view.answer or view.error)
        assert backend.requests == [], "the model was asked"
        assert len([ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolRequested)]) == 1

    def test_the_same_call_run_again_submits_no_second_reminder(self, routed: Any) -> None:
        """A reminder's task is keyed by the call that set it: a call run again after a crash finds it,
        and says when that one is due."""
        from greenroom.actors.tool_runner import _TaskAdapter

        d, _backend = routed("ok")
        tasks = _TaskAdapter(d.runtime.deps, "t-parent1")
        at = time.time() + 600
        first = tasks.remind("stretch", at, key="t-parent1:1:1:0")
        again = tasks.remind("stretch", at + 300, key="t-parent1:1:1:0")
        other = tasks.remind("stretch", at, key="t-parent1:1:2:0")
        assert first == again == (first[0], at)
        assert other[0] != first[0]
        assert len(list(d.runtime.journal.read(task_id=first[0]))) == 1
        scheduler = d.runtime.deps.handles.scheduler  # both wait there for their time
        wait_for(lambda: {first[0], other[0]} <= set(scheduler.ask(Pending(task_id=None, key="test"))), 30)


def allow_all(d: Any, task_id: str) -> Any:
    """Answer yes to every question ``task_id`` asks, until it ends; its view then."""
    while True:
        view = wait_status(d, task_id, "waiting", "finished", "failed", timeout=60)
        if view.status != "waiting":
            return view
        for pending in view.confirmations:
            d.runtime.confirm(pending.confirmation_id, approved=True, remember=False)
        wait_for(lambda: not d.runtime.tasks.get(task_id).confirmations or None, 60)
