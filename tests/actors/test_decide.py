"""The agent loop as plain functions: fold events (evolve), ask what is next (decide). No daemon, no threads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from greenroom.actors import AgentConfig, Context, ToolTraits, confirmation_id, decide, fold
from greenroom.actors import commands as c
from greenroom.bus import Envelope
from greenroom.bus import events as e

T = "t-1"
READ_SCHEMA = {
    "type": "object",
    "properties": {"path": {"type": "string"}, "max_bytes": {"type": "integer", "default": 8192}},
    "required": ["path"],
}
TOOLS = {
    "system.time": ToolTraits("none", True, takes_args=False, memorable=False),
    "fs.read": ToolTraits("read", True, schema=READ_SCHEMA),
    "fs.write": ToolTraits("write", True),
    "shell.exec": ToolTraits("external", False),
}


class Story:
    """A task's history, built event by event, and what decide says after it."""

    def __init__(self, goal: str = "do it", **agent: Any) -> None:
        self.events: list[e.Event] = [e.TaskSubmitted(goal=goal), e.TaskStarted()]
        self.ctx = Context(agent=AgentConfig(**agent), tools=TOOLS, now=1000.0)

    def add(self, *events: e.Event) -> Story:
        self.events.extend(events)
        return self

    def envelopes(self) -> list[Envelope]:
        return [Envelope(seq=i, ts=float(i), source="t", event=ev, task_id=T) for i, ev in enumerate(self.events, 1)]

    def next(self, now: float | None = None) -> list[c.Command]:
        ctx = self.ctx if now is None else Context(agent=self.ctx.agent, tools=TOOLS, now=now)
        return decide(fold(T, self.envelopes()), ctx)

    def one(self, kind: type) -> Any:
        (cmd,) = self.next()
        assert isinstance(cmd, kind), cmd
        return cmd


def planned(*intents: str, revision: int = 0) -> e.TaskPlanned:
    return e.TaskPlanned(revision=revision, steps=[e.PlanStep(intent=i) for i in intents])


def output(purpose: str, text: str) -> e.LlmFinished:
    return e.LlmFinished(request_id=f"{T}:{purpose}", purpose=purpose, text=text)


def calls(*pairs: tuple[str, dict[str, Any]]) -> str:
    return json.dumps({"action": "call_tools", "calls": [{"tool": t, "args": a} for t, a in pairs]})


def finish(result: str) -> str:
    return json.dumps({"action": "finish", "result": result})


def requested(step: int, rnd: int, i: int, tool: str, args: dict[str, Any]) -> e.ToolRequested:
    return e.ToolRequested(call_id=f"{T}:{step}:{rnd}:{i}", tool=tool, args=args, step=step, round=rnd)


def decided(call: e.ToolRequested, decision: str, rule: str = "r") -> e.ToolDecided:
    return e.ToolDecided(call_id=call.call_id, tool=call.tool, decision=decision, rule=rule)  # type: ignore[arg-type]


def result(call: e.ToolRequested, out: str = "ok", ok: bool = True) -> e.ToolResult:
    return e.ToolResult(call_id=call.call_id, tool=call.tool, ok=ok, output=out if ok else "", error="" if ok else out)


def one_step_done(story: Story, answer: str | None = "It is done.") -> Story:
    story.add(planned("the step"), e.StepStarted(step=1, intent="the step"), output("step:1:round:1", finish("done")))
    story.add(e.StepFinished(step=1, result="done"), e.CriticVerdict(step=1, verdict="accept"))
    if answer is not None:
        story.add(output("answer", answer))
    return story


class TestLifecycle:
    def test_nothing_happens_before_the_task_starts(self) -> None:
        """A submitted task that has not started yet has nothing to decide."""
        env = Envelope(seq=1, ts=0.0, source="t", event=e.TaskSubmitted(goal="g"), task_id=T)
        assert decide(fold(T, [env]), Context()) == []

    def test_a_started_task_asks_for_a_plan(self) -> None:
        """The first thing a started task needs is its plan (revision 0)."""
        assert Story().next() == [c.RequestPlan(0, "")]

    def test_a_plan_starts_its_first_step(self) -> None:
        """With a plan, step 1 starts with the plan's first intent."""
        assert Story().add(planned("look", "write")).next() == [c.StartStep(1, "look")]

    def test_the_answer_finishes_the_task(self) -> None:
        """After the last accepted step, the answer is asked for; with it, the task finishes."""
        story = one_step_done(Story(pass_through=False), answer=None)
        assert story.next() == [c.RequestAnswer((("the step", "done"),))]
        assert one_step_done(Story(pass_through=False), answer="  Paris.  ").next() == [c.FinishTask("Paris.")]

    def test_a_one_step_task_answers_with_its_step_result(self) -> None:
        """One step: its result is the answer, no separate answer call."""
        assert one_step_done(Story(), answer=None).next() == [c.FinishTask("done")]

    def test_a_direct_answer_finishes_at_once(self) -> None:
        """The first call answered: the task finishes with that answer."""
        story = Story().add(e.TaskPlanned(revision=0, steps=[], answer="Paris."))
        assert story.next() == [c.FinishTask("Paris.")]

    def test_a_direct_answer_that_claims_an_action_is_replanned_with_tools(self) -> None:
        """'I have written the file' with no tool is not an answer: a plan with tools is asked for."""
        story = Story().add(e.TaskPlanned(revision=0, steps=[], answer="The text has been written to the file."))
        (cmd,) = story.next()
        assert isinstance(cmd, c.RequestPlan)
        assert cmd.revision == 1
        assert "no tool that changes anything ran" in cmd.feedback

    def test_an_empty_answer_still_finishes_with_a_note(self) -> None:
        """A model that says nothing does not leave the task hanging."""
        story = one_step_done(Story(pass_through=False), answer="")
        assert story.next() == [c.FinishTask("(the model gave no answer)")]

    @pytest.mark.parametrize(
        "end",
        [e.TaskFinished(answer="x"), e.TaskFailed(error="x"), e.TaskCancelled(reason="x"), e.TaskParked(reason="x")],
    )
    def test_ended_or_parked_tasks_decide_nothing(self, end: e.Event) -> None:
        """Finished, failed, cancelled and parked tasks wait for nothing and ask for nothing."""
        assert Story().add(planned("x"), end).next() == []

    def test_a_parked_task_resumed_goes_on_where_it_was(self) -> None:
        """task.parked then task.started (resumed): the walk continues from the history."""
        story = Story().add(planned("x"), e.TaskParked(reason="stop"), e.TaskStarted(resumed=True))
        assert story.next() == [c.StartStep(1, "x")]

    def test_a_failed_request_fails_the_task(self) -> None:
        """request.failed (say, the plan could not be produced) fails the task with its code and reason."""
        story = Story().add(e.RequestFailed(request="plan:0", code="model", error="no model"))
        assert story.next() == [c.FailTask("model", "no model")]

    def test_bad_model_output_fails_with_a_clear_error(self) -> None:
        """A round's output that does not parse fails the task, quoting what the model said."""
        story = Story().add(planned("x"), e.StepStarted(step=1, intent="x"), output("step:1:round:1", "not json"))
        fail = story.one(c.FailTask)
        assert fail.code == "bad_model_output"
        assert "not json" in fail.error


class TestRounds:
    def base(self) -> Story:
        return Story().add(planned("the step"), e.StepStarted(step=1, intent="the step"))

    def test_a_step_asks_the_model_for_its_first_round(self) -> None:
        """A started step asks for round 1, naming the step's intent."""
        action = self.base().one(c.RequestAction)
        assert (action.step, action.round, action.intent, action.observations) == (1, 1, "the step", ())

    def test_finish_ends_the_step_with_its_result(self) -> None:
        """The model finishing the step publishes step.finished with the result."""
        story = self.base().add(output("step:1:round:1", finish("the result")))
        assert story.next() == [c.FinishStep(1, "the result")]

    def test_tool_calls_are_journaled_at_most_four_a_round(self) -> None:
        """Six calls asked for become four tool.requested, with stable call ids."""
        story = self.base().add(output("step:1:round:1", calls(*[("system.time", {})] * 6)))
        published = story.one(c.PublishCalls)
        assert [x.call_id for x in published.calls] == [f"{T}:1:1:{i}" for i in range(4)]

    def test_only_the_missing_calls_are_published_again(self) -> None:
        """After a crash between two tool.requested, only the missing one is published."""
        first = requested(1, 1, 0, "system.time", {})
        story = self.base().add(
            output("step:1:round:1", calls(("system.time", {}), ("fs.read", {"path": "/a"}))), first
        )
        (published,) = story.next()
        assert isinstance(published, c.PublishCalls)
        assert [x.call_id for x in published.calls] == [f"{T}:1:1:1"]

    def test_every_call_of_a_round_goes_to_policy_at_once(self) -> None:
        """Independent calls in a round are decided (and may run) in parallel."""
        a, b = requested(1, 1, 0, "system.time", {}), requested(1, 1, 1, "fs.read", {"path": "/a"})
        story = self.base().add(output("step:1:round:1", calls(("system.time", {}), ("fs.read", {"path": "/a"}))), a, b)
        assert story.next() == [c.RequestDecision(a), c.RequestDecision(b)]

    def test_the_next_round_sees_the_results(self) -> None:
        """Once every call has a result, round 2 is asked for with the observations."""
        a = requested(1, 1, 0, "system.time", {})
        story = self.base().add(output("step:1:round:1", calls(("system.time", {}))), a, decided(a, "allow"))
        assert story.next() == [c.RunTool(a, {}, "")]
        story.add(e.ToolInvoked(call_id=a.call_id, tool=a.tool), result(a, "noon"))
        action = story.one(c.RequestAction)
        assert action.round == 2
        assert action.observations == ("- system.time({}) -> noon",)


class TestNamedTools:
    def named(self, tool: str) -> Story:
        step = e.TaskPlanned(revision=0, steps=[e.PlanStep(intent="do it", tools=[tool])])
        return Story().add(step, e.StepStarted(step=1, intent="do it"))

    def test_a_step_must_call_the_tool_its_plan_named(self) -> None:
        """The first round may only call the named tool: no finishing before it ran."""
        assert self.named("fs.read").one(c.RequestAction).must_call == ("fs.read",)

    def test_a_named_tool_without_arguments_needs_no_model_call(self) -> None:
        """The clock takes no arguments: its call is journaled straight away."""
        (cmd,) = self.named("system.time").next()
        assert isinstance(cmd, c.PublishCalls)
        assert [(x.tool, x.args) for x in cmd.calls] == [("system.time", {})]

    def test_a_named_tool_whose_arguments_the_step_fixes_needs_no_model_call(self) -> None:
        """'Read notes/today.md': the path is the only argument left, and the step says it."""
        step = e.TaskPlanned(revision=0, steps=[e.PlanStep(intent="Read notes/today.md", tools=["fs.read"])])
        story = Story().add(step, e.StepStarted(step=1, intent="Read notes/today.md"))
        (cmd,) = story.next()
        assert isinstance(cmd, c.PublishCalls)
        assert [(x.tool, x.args) for x in cmd.calls] == [("fs.read", {"path": "notes/today.md"})]
        assert isinstance(self.named("fs.read").one(c.RequestAction), c.RequestAction), "'do it' names no path"

    def test_the_named_tools_output_is_the_step_result_verbatim(self) -> None:
        """Once the named tool succeeded, its output is the step's result (not the model's paraphrase)."""
        story = self.named("system.time")
        call = requested(1, 1, 0, "system.time", {})
        story.add(call, decided(call, "allow"), result(call, "Thursday 03 December 2026, 09:41:07 UTC"))
        assert story.next() == [c.FinishStep(1, "Thursday 03 December 2026, 09:41:07 UTC")]

    def test_a_write_passes_through_what_it_did_not_its_diff(self) -> None:
        """A write's result is its first line (what was done); the diff stays on the tool result."""
        story = self.named("fs.write")
        call = requested(1, 1, 0, "fs.write", {"path": "/a", "content": "x"})
        story.add(output("step:1:round:1", calls(("fs.write", call.args))), call, decided(call, "allow"))
        story.add(result(call, "wrote 1 bytes to /a\n--- a/a\n+++ b/a"))
        assert story.next() == [c.FinishStep(1, "wrote 1 bytes to /a")]

    def test_after_a_failed_named_call_the_model_may_finish(self) -> None:
        """A named tool that failed does not lock the step: the next round may finish and say why."""
        story = self.named("fs.read")
        call = requested(1, 1, 0, "fs.read", {"path": "/missing"})
        story.add(output("step:1:round:1", calls(("fs.read", call.args))), call, decided(call, "allow"))
        story.add(result(call, "does not exist", ok=False))
        action = story.one(c.RequestAction)
        assert (action.round, action.must_call) == (2, ())


class TestPolicyPaths:
    def round_with(
        self, tool: str, args: dict[str, Any], decision: str, rule: str = "r"
    ) -> tuple[Story, e.ToolRequested]:
        call = requested(1, 1, 0, tool, args)
        story = Story().add(
            planned("s"), e.StepStarted(step=1, intent="s"), output("step:1:round:1", calls((tool, args)))
        )
        story.add(call, decided(call, decision, rule))
        return story, call

    def test_allow_runs_the_tool(self) -> None:
        """An allowed call is handed to the tool runner."""
        story, call = self.round_with("fs.read", {"path": "/a"}, "allow")
        assert story.next() == [c.RunTool(call, {}, "")]

    def test_deny_records_a_failed_result_naming_the_rule(self) -> None:
        """A denied call never runs: its result says which rule denied it."""
        story, _call = self.round_with("fs.read", {"path": "/etc/x"}, "deny", "outside-roots")
        (cmd,) = story.next()
        assert isinstance(cmd, c.RecordResult)
        assert not cmd.result.ok
        assert "denied by policy (rule outside-roots)" in cmd.result.error

    def test_ask_puts_the_question_and_waits(self) -> None:
        """'ask' journals a question; until it is answered there is nothing to do."""
        story, call = self.round_with("fs.write", {"path": "/a", "content": "x"}, "ask")
        ask = story.one(c.Ask)
        assert ask.question.confirmation_id == confirmation_id(call.call_id)
        assert ask.question.kind == "tool"
        story.add(ask.question)
        assert story.next() == []

    @pytest.mark.parametrize(("approved", "runs"), [(True, True), (False, False)])
    def test_the_answer_decides(self, approved: bool, runs: bool) -> None:
        """Yes runs the call; no records it as declined."""
        story, call = self.round_with("fs.write", {"path": "/a", "content": "x"}, "ask")
        ask = story.one(c.Ask)
        story.add(ask.question, e.ConfirmationAnswered(confirmation_id=ask.question.confirmation_id, approved=approved))
        (cmd,) = story.next()
        if runs:
            assert cmd == c.RunTool(call, {}, "")
        else:
            assert isinstance(cmd, c.RecordResult)
            assert "declined" in cmd.result.error

    def test_an_unanswered_question_times_out_from_when_it_was_asked(self) -> None:
        """With a timeout, the deadline is the question's own time plus the timeout, across restarts."""
        story, _call = self.round_with("fs.write", {"path": "/a", "content": "x"}, "ask")
        story.ctx = Context(agent=AgentConfig(confirmation_timeout_s=60), tools=TOOLS, now=0)
        ask = story.one(c.Ask)
        story.add(ask.question, e.TaskParked(reason="stop"), e.TaskStarted(resumed=True))
        asked_at = float(len(story.events) - 2)
        assert story.next(now=asked_at + 10) == [c.WakeAt(asked_at + 60)]
        (timeout,) = story.next(now=asked_at + 61)
        assert isinstance(timeout, c.TimeOut)
        assert (timeout.answer.approved, timeout.answer.client) == (False, "timeout")


class TestCapAndRepeats:
    def test_after_four_rounds_the_person_is_asked_to_extend(self) -> None:
        """The fifth round is not asked for: the cap is journaled and the person asked."""
        story = Story().add(planned("loop"), e.StepStarted(step=1, intent="loop"))
        for rnd in range(1, 5):
            call = requested(1, rnd, 0, "system.time", {})
            story.add(output(f"step:1:round:{rnd}", calls(("system.time", {}))), call, decided(call, "allow"))
            story.add(result(call, f"t{rnd}"))
        cap, ask = story.next()
        assert cap == c.ReachCap(1, 4, 4)
        assert isinstance(ask, c.Ask)
        assert ask.question.kind == "extend"
        story.add(e.StepCapReached(step=1, rounds=4, calls=4), ask.question)
        no = e.ConfirmationAnswered(confirmation_id=ask.question.confirmation_id, approved=False)
        assert story.add(no).next() == [c.FinishStep(1, "stopped: the step reached its tool-round cap", ok=False)]

    def test_extending_allows_four_more_rounds(self) -> None:
        """Yes to the cap question asks for round 5."""
        story = Story(max_rounds=1).add(planned("loop"), e.StepStarted(step=1, intent="loop"))
        call = requested(1, 1, 0, "system.time", {})
        story.add(output("step:1:round:1", calls(("system.time", {}))), call, decided(call, "allow"), result(call))
        _cap, ask = story.next()
        story.add(e.StepCapReached(step=1, rounds=1, calls=4), ask.question)
        story.add(e.ConfirmationAnswered(confirmation_id=ask.question.confirmation_id, approved=True))
        assert story.one(c.RequestAction).round == 2

    def test_an_identical_write_is_not_run_twice(self) -> None:
        """A second identical call with side effects reuses the first result (repeated_of), without running."""
        args = {"path": "/a", "content": "x"}
        first, second = requested(1, 1, 0, "fs.write", args), requested(1, 2, 0, "fs.write", args)
        story = Story().add(planned("w"), e.StepStarted(step=1, intent="w"))
        story.add(
            output("step:1:round:1", calls(("fs.write", args))), first, decided(first, "allow"), result(first, "wrote")
        )
        story.add(output("step:1:round:2", calls(("fs.write", args))), second)
        (cmd,) = story.next()
        assert isinstance(cmd, c.RecordResult)
        assert (cmd.result.repeated_of, cmd.result.output) == (first.call_id, "wrote")

    def test_an_identical_read_runs_again_marked_as_a_repeat(self) -> None:
        """Reads may give a new answer: they run again, marked repeated_of."""
        first, second = requested(1, 1, 0, "system.time", {}), requested(1, 2, 0, "system.time", {})
        story = Story().add(planned("t"), e.StepStarted(step=1, intent="t"))
        story.add(output("step:1:round:1", calls(("system.time", {}))), first, decided(first, "allow"), result(first))
        story.add(output("step:1:round:2", calls(("system.time", {}))), second, decided(second, "allow"))
        assert story.next() == [c.RunTool(second, {}, first.call_id)]


class TestVerdicts:
    def finished_step(self, **agent: Any) -> Story:
        story = Story(critic="always", **agent).add(planned("one", "two"), e.StepStarted(step=1, intent="one"))
        return story.add(output("step:1:round:1", finish("r1")), e.StepFinished(step=1, result="r1"))

    def test_a_finished_step_is_judged(self) -> None:
        """The Critic is asked about each finished step, with what it did as evidence."""
        assert self.finished_step().next() == [c.RequestVerdict(1, "one", "r1", "")]

    def test_accept_moves_to_the_next_step(self) -> None:
        """An accepted step lets the next plan step start, numbered on."""
        story = self.finished_step().add(e.CriticVerdict(step=1, verdict="accept"))
        assert story.next() == [c.StartStep(2, "two")]

    def test_retry_runs_the_same_intent_again_once(self) -> None:
        """retry re-runs the plan step as a new step number, with the reason as a note for the model;
        a second retry fails the task (its last verdict is not accept)."""
        story = self.finished_step().add(e.CriticVerdict(step=1, verdict="retry", reason="use the other file"))
        assert story.next() == [c.StartStep(2, "one")]
        story.add(e.StepStarted(step=2, intent="one"))
        assert story.one(c.RequestAction).note == "use the other file"
        story.add(output("step:2:round:1", finish("r2")))
        story.add(e.StepFinished(step=2, result="r2"), e.CriticVerdict(step=2, verdict="retry", reason="still wrong"))
        fail = story.one(c.FailTask)
        assert (fail.code, fail.error) == ("not_accepted", "step 2 (one) was not accepted: still wrong")

    def test_replan_asks_for_a_new_plan_with_the_reason(self) -> None:
        """replan requests revision 1 with what was done and the Critic's reason."""
        story = self.finished_step().add(e.CriticVerdict(step=1, verdict="replan", reason="it read the wrong file"))
        (cmd,) = story.next()
        assert isinstance(cmd, c.RequestPlan)
        assert cmd.revision == 1
        assert "1. one: r1" in cmd.feedback
        assert "Why a new plan: it read the wrong file" in cmd.feedback
        story.add(planned("fixed", revision=1))
        assert story.next() == [c.StartStep(2, "fixed")]

    def test_replans_are_bounded(self) -> None:
        """Beyond max_replans a replan verdict ends the task as not accepted: no endless loop."""
        verdict = e.CriticVerdict(step=1, verdict="replan", reason="it used the wrong tool")
        story = self.finished_step(max_replans=0).add(verdict)
        assert story.one(c.FailTask).code == "not_accepted"

    def test_a_replan_without_a_reason_is_no_replan(self) -> None:
        """A replan verdict that does not say why does not replan: the loop goes on."""
        story = self.finished_step().add(e.CriticVerdict(step=1, verdict="replan", reason="no"))
        assert story.next() == [c.StartStep(2, "two")]

    def test_auto_judges_only_steps_with_side_effects(self) -> None:
        """With critic=auto a step that only read is not judged; one that wrote is."""
        read = requested(1, 1, 0, "fs.read", {"path": "/a"})
        story = Story().add(planned("read", "write"), e.StepStarted(step=1, intent="read"))
        story.add(
            output("step:1:round:1", calls(("fs.read", {"path": "/a"}))), read, decided(read, "allow"), result(read)
        )
        story.add(output("step:1:round:2", finish("it says hi")), e.StepFinished(step=1, result="it says hi"))
        assert story.next() == [c.StartStep(2, "write")]
        write = requested(2, 1, 0, "fs.write", {"path": "/b", "content": "x"})
        story.add(e.StepStarted(step=2, intent="write"), output("step:2:round:1", calls(("fs.write", write.args))))
        story.add(write, decided(write, "allow"), result(write, "wrote 1 bytes to /b"))
        story.add(output("step:2:round:2", finish("wrote it")), e.StepFinished(step=2, result="wrote it"))
        assert isinstance(story.one(c.RequestVerdict), c.RequestVerdict)

    def test_a_claimed_action_without_its_tool_is_never_accepted(self) -> None:
        """'The text has been written' with no tool run: the rule says retry, whatever the Critic mode."""
        story = Story(critic="never").add(planned("write the list"), e.StepStarted(step=1, intent="write the list"))
        claim = "The text has been written to the file ~/notes/todo.md."
        story.add(output("step:1:round:1", finish(claim)), e.StepFinished(step=1, result=claim))
        judge = story.one(c.Judge)
        assert (judge.verdict, judge.rule) == ("retry", "unperformed-action")
        assert "no tool that changes anything ran" in judge.reason

    def test_steps_are_bounded(self) -> None:
        """At max_steps the loop stops stepping and answers."""
        story = self.finished_step(max_steps=1, pass_through=False).add(e.CriticVerdict(step=1, verdict="accept"))
        assert isinstance(story.one(c.RequestAnswer), c.RequestAnswer)


class TestResumeAfterACrash:
    def invoked(self, tool: str, args: dict[str, Any]) -> tuple[Story, e.ToolRequested]:
        call = requested(1, 1, 0, tool, args)
        story = Story().add(
            planned("s"), e.StepStarted(step=1, intent="s"), output("step:1:round:1", calls((tool, args)))
        )
        story.add(call, decided(call, "allow"), e.ToolInvoked(call_id=call.call_id, tool=tool))
        return story, call

    def test_a_call_running_in_this_incarnation_is_not_questioned(self) -> None:
        """While the daemon that invoked it runs, the call is simply in flight (the runner dedupes)."""
        story, call = self.invoked("shell.exec", {"command": "make"})
        assert story.next() == [c.RunTool(call, {}, "")]

    def test_an_idempotent_call_in_flight_at_a_crash_runs_again(self) -> None:
        """After a restart an interrupted idempotent call is run again with the same key."""
        story, call = self.invoked("fs.write", {"path": "/a", "content": "x"})
        story.add(e.TaskStarted(resumed=True))
        assert story.next() == [c.RunTool(call, {}, "")]

    def test_a_non_idempotent_call_in_flight_at_a_crash_becomes_a_question(self) -> None:
        """After a restart an interrupted call that may have acted is not run silently: the person is asked."""
        story, _call = self.invoked("shell.exec", {"command": "make deploy"})
        story.add(e.TaskStarted(resumed=True))
        ask = story.one(c.Ask)
        assert ask.question.kind == "rerun"
        assert "may already have acted" in ask.question.question
        story.add(ask.question, e.ConfirmationAnswered(confirmation_id=ask.question.confirmation_id, approved=False))
        (cmd,) = story.next()
        assert isinstance(cmd, c.RecordResult)
        assert "not run again" in cmd.result.error

    def test_a_completed_call_is_never_run_again(self) -> None:
        """A call with a journaled result is done, whatever restarts follow."""
        story, call = self.invoked("shell.exec", {"command": "make"})
        story.add(result(call, "built"), e.TaskStarted(resumed=True))
        action = story.one(c.RequestAction)
        assert action.round == 2

    def test_folding_is_pure_and_replays_to_the_same_state(self) -> None:
        """The same events folded twice give equal states; the input list is untouched."""
        story, _ = self.invoked("fs.read", {"path": "/a"})
        envs = story.envelopes()
        before = list(envs)
        assert fold(T, envs) == fold(T, envs)
        assert envs == before


class TestInterruptedTwice:
    def test_each_interruption_is_its_own_question(self) -> None:
        """Yes to "run it again?" after one crash does not cover a second crash of the same call."""
        call = requested(1, 1, 0, "shell.exec", {"command": "make deploy"})
        story = Story().add(planned("s"), e.StepStarted(step=1, intent="s"))
        story.add(output("step:1:round:1", calls(("shell.exec", call.args))), call, decided(call, "allow"))
        story.add(e.ToolInvoked(call_id=call.call_id, tool=call.tool), e.TaskStarted(resumed=True))
        first = story.one(c.Ask).question
        story.add(first, e.ConfirmationAnswered(confirmation_id=first.confirmation_id, approved=True))
        assert story.next() == [c.RunTool(call, {}, "")]
        story.add(e.ToolInvoked(call_id=call.call_id, tool=call.tool), e.TaskStarted(resumed=True))
        second = story.one(c.Ask).question
        assert second.kind == "rerun"
        assert second.confirmation_id != first.confirmation_id


class TestWithoutTheModel:
    def test_a_reminder_says_its_text_and_nothing_else(self) -> None:
        """A reminder's task finishes at once with its text, kept out of memory: no plan, no tool, no model."""
        story = Story()
        story.events[0] = e.TaskSubmitted(goal="delete all my files", reminder=True)
        assert story.next() == [c.FinishTask("Reminder: delete all my files", remember=False)]

    def test_a_failed_call_the_words_made_ends_the_step(self) -> None:
        """Round 1 made without the model (the words fixed the call) failed: the step ends with the error,
        where a round the model chose that failed goes on to the next round."""
        call = requested(1, 1, 0, "fs.read", {"path": "notes/missing.md"})
        words = Story().add(planned("Read notes/missing.md"), e.StepStarted(step=1, intent="Read notes/missing.md"))
        words.add(call, decided(call, "allow"), e.ToolInvoked(call_id=call.call_id, tool="fs.read"))
        words.add(result(call, "notes/missing.md does not exist", ok=False))
        assert words.next() == [c.FinishStep(1, "fs.read: notes/missing.md does not exist", ok=False)]
        chosen = Story().add(planned("Read notes/missing.md"), e.StepStarted(step=1, intent="Read notes/missing.md"))
        chosen.add(output("step:1:round:1", calls(("fs.read", {"path": "notes/missing.md"}))))
        chosen.add(call, decided(call, "allow"), e.ToolInvoked(call_id=call.call_id, tool="fs.read"))
        chosen.add(result(call, "notes/missing.md does not exist", ok=False))
        assert [type(cmd) for cmd in chosen.next()] == [c.RequestAction]
