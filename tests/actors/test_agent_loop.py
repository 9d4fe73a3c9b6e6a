"""The agent loop end to end inside one daemon (scripted model, real everything else)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from greenroom.actors import CriticActor
from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from tests.actors.loop_helpers import events_of, types_of, wait_status
from tests.conftest import answer, call, finish, make_config, plan, write_script


@pytest.fixture
def start(short_tmp: Path, daemon_factory: Any):  # type: ignore[no-untyped-def]
    def go(responses: dict[str, str], *overrides: str) -> Any:
        script = write_script(short_tmp / "script.json", responses)
        return daemon_factory(make_config(short_tmp, script, *overrides))

    return go


class TestAgentLoop:
    def test_task_runs_from_submitted_to_finished(self, start: Any) -> None:
        """A one-step task whose plan names the clock: the tool runs (no model call needed for a tool
        without arguments) and its output, verbatim, is the answer: one model call in all."""
        d = start({"plan": plan("check the time", tools=("system.time",))})
        task_id, _ = d.runtime.submit("what time is it?")
        view = wait_status(d, task_id, "finished")
        result = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolResult))
        assert view.answer == result.output
        assert re.search(r"\d\d:\d\d:\d\d", view.answer)
        assert types_of(d, task_id) == [
            "task.submitted",
            "task.started",
            "llm.finished",
            "task.planned",
            "step.started",
            "tool.requested",
            "tool.decided",
            "tool.invoked",
            "tool.result",
            "step.finished",
            "task.finished",
        ]
        decided = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolDecided))
        assert (decided.decision, decided.rule) == ("allow", "read-only")

    def test_a_question_that_needs_no_tool_is_answered_in_one_call(self, start: Any) -> None:
        """The first call answers directly: one llm.finished, no plan steps, the answer as given."""
        d = start({"plan": answer("The capital of France is Paris.")})
        task_id, _ = d.runtime.submit("What is the capital of France?")
        view = wait_status(d, task_id, "finished")
        assert view.answer == "The capital of France is Paris."
        assert types_of(d, task_id) == [
            "task.submitted",
            "task.started",
            "llm.finished",
            "task.planned",
            "task.finished",
        ]

    def test_full_loop_with_critic_and_answer_call(self, start: Any) -> None:
        """With routing, pass-through and auto-critic off, the classic loop: plan, rounds, verdict, answer."""
        d = start(
            {
                "plan": plan("check the time"),
                "step:1:round:1": call(("system.time", {})),
                "step:1:round:2": finish("it is late"),
                "answer": "It is late.",
            },
            "agent.route=false",
            "agent.critic='always'",
            "agent.pass_through=false",
        )
        task_id, _ = d.runtime.submit("what time is it?")
        view = wait_status(d, task_id, "finished")
        assert view.answer == "It is late."
        assert types_of(d, task_id)[-5:] == [
            "step.finished",
            "llm.finished",
            "critic.verdict",
            "llm.finished",
            "task.finished",
        ]

    def test_causes_link_back_to_the_submission(self, start: Any) -> None:
        """Every event of a task walks back along causation ids to task.submitted."""
        d = start({"plan": plan("say hi"), "answer": "hi"})
        task_id, submitted_seq = d.runtime.submit("say hi")
        wait_status(d, task_id, "finished")
        envs = {env.seq: env for env in (decode_envelope(raw) for _, raw in d.runtime.journal.read(task_id=task_id))}
        finished = next(env for env in envs.values() if isinstance(env.event, e.TaskFinished))
        seq: int | None = finished.seq
        chain = []
        while seq is not None:
            chain.append(seq)
            seq = envs[seq].causation_id if seq in envs else None
        assert chain[-1] == submitted_seq

    def test_ask_parks_until_answered(self, start: Any) -> None:
        """A tool with side effects asks; the task waits; 'yes' resumes it and the tool runs once."""
        d = start(
            {
                "plan": plan("remember the milk"),
                "step:1:round:1": call(("memory.remember", {"text": "buy milk"})),
                "step:1:round:2": finish("noted"),
            }
        )
        task_id, _ = d.runtime.submit("remember to buy milk")
        view = wait_status(d, task_id, "waiting")
        (pending,) = view.confirmations
        assert pending.tool == "memory.remember"
        assert d.runtime.memory.store.stats()["items"] == 0
        d.runtime.confirm(pending.confirmation_id, approved=True, remember=False)
        wait_status(d, task_id, "finished")
        assert d.runtime.memory.store.stats()["items"] == 1
        assert "memory.stored" in types_of(d, task_id)

    def test_declined_call_is_reported_to_the_model(self, start: Any) -> None:
        """'no' fails the call with a reason the model sees; the task still ends."""
        d = start(
            {
                "plan": plan("remember"),
                "step:1:round:1": call(("memory.remember", {"text": "x"})),
                "step:1:round:2": finish("could not"),
            }
        )
        task_id, _ = d.runtime.submit("remember x")
        (pending,) = wait_status(d, task_id, "waiting").confirmations
        d.runtime.confirm(pending.confirmation_id, approved=False, remember=False)
        wait_status(d, task_id, "finished")
        result = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolResult))
        assert not result.ok
        assert "declined" in result.error
        assert d.runtime.memory.store.stats()["items"] == 0

    def test_remembered_yes_skips_the_next_ask(self, start: Any) -> None:
        """'yes, remember' persists: the next call of that tool is allowed by the remembered rule."""
        responses = {
            "plan": plan("remember"),
            "step:1:round:1": call(("memory.remember", {"text": "x"})),
            "step:1:round:2": finish("ok"),
        }
        d = start(responses)
        first, _ = d.runtime.submit("remember x")
        (pending,) = wait_status(d, first, "waiting").confirmations
        d.runtime.confirm(pending.confirmation_id, approved=True, remember=True)
        wait_status(d, first, "finished")
        second, _ = d.runtime.submit("remember x again")
        wait_status(d, second, "finished")
        decided = [ev for ev in events_of(d, second) if isinstance(ev, e.ToolDecided)]
        assert [(x.decision, x.rule) for x in decided] == [("allow", "remembered:1")]

    def test_round_cap_asks_to_extend(self, start: Any) -> None:
        """After 4 rounds the step stops and the person is asked; 'no' ends the step."""
        d = start({"plan": plan("loop"), "step:1:round:*": call(("system.time", {}))})
        task_id, _ = d.runtime.submit("loop forever")
        view = wait_status(d, task_id, "waiting")
        (pending,) = view.confirmations
        assert pending.kind == "extend"
        rounds = {ev.round for ev in events_of(d, task_id) if isinstance(ev, e.ToolRequested)}
        assert rounds == {1, 2, 3, 4}
        assert any(isinstance(ev, e.StepCapReached) for ev in events_of(d, task_id))
        d.runtime.confirm(pending.confirmation_id, approved=False, remember=False)
        wait_status(d, task_id, "finished")
        done = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.StepFinished))
        assert done.result.startswith("stopped:")
        assert not done.ok

    def test_at_most_four_calls_per_round(self, start: Any) -> None:
        """A model asking for six calls in a round gets four."""
        six = call(*[("system.time", {})] * 6)
        d = start({"plan": plan("many"), "step:1:round:1": six, "step:1:round:2": finish("ok")})
        task_id, _ = d.runtime.submit("many calls")
        wait_status(d, task_id, "finished")
        requested = [ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolRequested)]
        assert len(requested) == 4
        assert len({ev.call_id for ev in requested}) == 4

    def test_critic_replan_is_bounded(self, start: Any) -> None:
        """A 'replan' verdict produces one new plan revision, not an endless loop; a task whose last
        verdict is still not 'accept' fails, saying why, instead of finishing as a success."""
        d = start(
            {
                "plan": plan("first try"),
                "replan:*": plan("second try"),
                "verdict:*": '{"verdict": "replan", "reason": "the wrong approach was taken"}',
            },
            "agent.critic='always'",
        )
        task_id, _ = d.runtime.submit("needs a replan")
        view = wait_status(d, task_id, "failed")
        assert "step 2 (second try) was not accepted: the wrong approach was taken" in view.error
        plans = [ev for ev in events_of(d, task_id) if isinstance(ev, e.TaskPlanned)]
        assert [p.revision for p in plans] == [0, 1]
        assert [ev.step for ev in events_of(d, task_id) if isinstance(ev, e.StepStarted)] == [1, 2]

    def test_cancel_a_waiting_task(self, start: Any) -> None:
        """Cancelling a task that waits for a person ends it as cancelled."""
        d = start({"plan": plan("x"), "step:1:round:1": call(("memory.remember", {"text": "x"}))})
        task_id, _ = d.runtime.submit("x")
        wait_status(d, task_id, "waiting")
        d.runtime.cancel(task_id, client="test")
        view = wait_status(d, task_id, "cancelled")
        assert view.confirmations == []

    def test_invalid_model_output_fails_with_a_clear_error(self, start: Any) -> None:
        """A plan that does not parse fails the task and says why."""
        d = start({"plan": "this is not json"})
        task_id, _ = d.runtime.submit("x")
        view = wait_status(d, task_id, "failed")
        assert "plan was not valid" in view.error

    def test_delayed_task_starts_at_its_time(self, start: Any) -> None:
        """A one-shot task with run_at stays pending until then."""
        d = start({"plan": plan("later")})
        clock = d.runtime.deps.clock
        task_id, _ = d.runtime.submit("later", run_at=clock() + 0.5)
        assert d.runtime.tasks.get(task_id).status == "pending"
        wait_status(d, task_id, "finished", timeout=10)
        started_at = next(
            decode_envelope(raw).ts for _, raw in d.runtime.journal.read(task_id=task_id, types=["task.started"])
        )
        assert started_at >= d.runtime.tasks.get(task_id).created + 0.45


class TestSupervision:
    def test_crashed_actor_restarts_and_the_task_continues(self, start: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A Critic that crashes once is restarted with backoff; the task still finishes."""
        calls = {"n": 0}
        original = CriticActor.judge

        def flaky(self: CriticActor, *args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                raise ZeroDivisionError("injected fault")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(CriticActor, "judge", flaky)
        d = start({"plan": plan("x"), "step:1:round:1": finish("fine")}, "agent.critic='always'")
        task_id, _ = d.runtime.submit("x")
        view = wait_status(d, task_id, "finished")
        assert view.answer == "fine"
        kinds = [
            decode_envelope(raw).event for _, raw in d.runtime.journal.read(types=["actor.crashed", "actor.restarted"])
        ]
        assert kinds[0] == e.ActorCrashed(
            actor="critic", error="ZeroDivisionError: injected fault", restart_in_s=0.05, crashes=1, request="verdict:1"
        )
        assert kinds[1] == e.ActorRestarted(actor="critic", attempt=1)
        assert d.runtime.supervisor.status()["critic"] == "running"

    def test_repeated_crashes_fail_the_task_instead_of_hanging(
        self, start: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An actor that always crashes fails its task with a clear error event."""

        def broken(self: CriticActor, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("always broken")

        monkeypatch.setattr(CriticActor, "judge", broken)
        d = start({"plan": plan("x")}, "agent.critic='always'")
        task_id, _ = d.runtime.submit("x")
        view = wait_status(d, task_id, "failed", timeout=30)
        assert "critic actor crashed 3 times" in view.error
        assert "always broken" in view.error
        failed = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.TaskFailed))
        assert failed.code == "actor_crashed"


class TestRepeatedCalls:
    def test_identical_side_effect_call_is_not_run_twice(self, start: Any) -> None:
        """A second identical write in one task is detected, reported and not run again."""
        same = call(("memory.remember", {"text": "once"}))
        d = start(
            {"plan": plan("remember"), "step:1:round:1": same, "step:1:round:2": same, "step:1:round:3": finish("ok")}
        )
        task_id, _ = d.runtime.submit("remember once")
        (pending,) = wait_status(d, task_id, "waiting").confirmations
        d.runtime.confirm(pending.confirmation_id, approved=True, remember=False)
        wait_status(d, task_id, "finished")
        results = [ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolResult)]
        assert [r.repeated_of for r in results] == ["", results[0].call_id]
        assert d.runtime.memory.store.stats()["items"] == 1
        assert sum(isinstance(ev, e.ToolInvoked) for ev in events_of(d, task_id)) == 1

    def test_a_denied_call_asked_for_again_ends_the_step(self, start: Any) -> None:
        """The model asks for a denied listing, then for nothing else, four times at once: the
        policy decides once, the step stops after round 2, and the answer says what was refused."""
        listing = ("fs.list", {"path": "/etc"})
        d = start(
            {
                "plan": plan("list /etc"),
                "step:1:round:1": call(listing),
                "step:1:round:2": call(*[listing] * 4),
                "step:1:round:3": finish("never asked for"),
            }
        )
        task_id, _ = d.runtime.submit("list the files in /etc")
        view = wait_status(d, task_id, "finished")
        assert view.answer.startswith('stopped: asked again for a refused call: fs.list {"path": "/etc"}: denied')
        events = events_of(d, task_id)
        assert sum(isinstance(ev, e.ToolDecided) for ev in events) == 1
        results = [ev for ev in events if isinstance(ev, e.ToolResult)]
        assert [r.repeated_of for r in results] == ["", *[results[0].call_id] * 4]
        assert not any(isinstance(ev, e.LlmFinished) and ev.purpose == "step:1:round:3" for ev in events)


class TestMemoryTools:
    def test_recall_shows_provenance_and_forget_by_query_asks_then_forgets(self, start: Any) -> None:
        """memory.recall (read-only) answers with ids, where and why; memory.forget asks, then the item is gone."""
        d = start(
            {
                "plan": plan("find and forget the locker code"),
                "step:1:round:1": call(("memory.recall", {"query": "locker code", "tags": ["gym"]})),
                "step:1:round:2": call(("memory.forget", {"query": "locker code"})),
                "step:1:round:3": finish("forgotten"),
            },
            "memory.rerank=false",
        )
        kept, _ = d.runtime.memory.add("the bike lock code is 1234", tags=["home"])
        item, _ = d.runtime.memory.add("the gym locker code is 4711", tags=["gym"])
        task_id, _ = d.runtime.submit("forget the locker code")
        (pending,) = wait_status(d, task_id, "waiting").confirmations
        assert pending.tool == "memory.forget"
        recalled = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolResult))
        assert recalled.ok
        assert f"the gym locker code is 4711 [{item}; note; score " in recalled.output
        assert "bm25 #1" in recalled.output
        assert kept not in recalled.output, "the tag filter left the other note out"
        d.runtime.confirm(pending.confirmation_id, approved=True, remember=False)
        wait_status(d, task_id, "finished")
        forgot = [ev for ev in events_of(d, task_id) if isinstance(ev, e.ToolResult)][-1]
        assert forgot.output == f"forgot {item}"
        assert d.runtime.memory.get(item) is None
        assert d.runtime.memory.get(kept) is not None
