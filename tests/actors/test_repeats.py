"""A call asked for again: twins in one round get one answer, a refused call is not decided
or asked again, and a round of only refused repeats ends the step (decide, no daemon)."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.actors import commands as c
from greenroom.actors.repeats import signature
from greenroom.bus import events as e
from tests.actors.test_decide import Story, calls, decided, output, planned, requested, result

OUT = {"path": "/etc"}
WRITE = {"path": "/a", "content": "x"}


def round_of(story: Story, rnd: int, *pairs: tuple[str, dict[str, Any]]) -> list[e.ToolRequested]:
    """Round ``rnd`` of step 1 as the model asked for it, its calls journaled."""
    reqs = [requested(1, rnd, i, tool, args) for i, (tool, args) in enumerate(pairs)]
    story.add(output(f"step:1:round:{rnd}", calls(*pairs)), *reqs)
    return reqs


def step_story() -> Story:
    return Story().add(planned("list /etc"), e.StepStarted(step=1, intent="list /etc"))


def denied(call: e.ToolRequested) -> e.ToolResult:
    return result(call, "denied by policy (rule outside-roots): the path is outside the allowed roots (~)", ok=False)


class TestTwins:
    def test_identical_calls_in_one_round_are_decided_once(self) -> None:
        """Only the first twin goes to the policy; the second waits for it, then repeats its outcome."""
        story = step_story()
        first, second = round_of(story, 1, ("fs.read", OUT), ("fs.read", OUT))
        assert story.next() == [c.RequestDecision(first, False)]
        story.add(decided(first, "allow"))
        assert story.next() == [c.RunTool(first, {}, "")]
        story.add(result(first, "a b"))
        (cmd,) = story.next()
        assert isinstance(cmd, c.RecordResult)
        assert (cmd.result.call_id, cmd.result.output, cmd.result.repeated_of) == (second.call_id, "a b", first.call_id)

    def test_a_twin_of_a_question_does_not_ask_twice(self) -> None:
        """Two identical writes at once: one question; the answer covers both."""
        story = step_story()
        first, _second = round_of(story, 1, ("fs.write", WRITE), ("fs.write", WRITE))
        story.add(decided(first, "ask"))
        ask = story.one(c.Ask)
        story.add(ask.question, e.ConfirmationAnswered(confirmation_id=ask.question.confirmation_id, approved=False))
        story.add(result(first, "the person declined this call", ok=False))
        (cmd,) = story.next()
        assert isinstance(cmd, c.RecordResult)
        assert (cmd.result.ok, cmd.result.repeated_of) == (False, first.call_id)


class TestRefused:
    def test_a_denied_call_asked_again_is_not_decided_again(self) -> None:
        """The same read after a deny: the denial is repeated, the policy not asked."""
        story = step_story()
        (first,) = round_of(story, 1, ("fs.read", OUT))
        story.add(decided(first, "deny", "outside-roots"), denied(first))
        (again, other) = round_of(story, 2, ("fs.read", OUT), ("fs.read", {"path": "/home/x"}))
        cmds = story.next()
        assert c.RequestDecision(other, False) in cmds
        (repeat,) = [cmd for cmd in cmds if isinstance(cmd, c.RecordResult)]
        assert (repeat.result.call_id, repeat.result.repeated_of) == (again.call_id, first.call_id)
        assert "rule outside-roots" in repeat.result.error

    def test_a_declined_call_asked_again_is_not_asked_again(self) -> None:
        """The person said no: the same write in a later round gets that no, no second question."""
        story = step_story()
        (first,) = round_of(story, 1, ("fs.write", WRITE))
        story.add(decided(first, "ask"))
        ask = story.one(c.Ask)
        story.add(ask.question, e.ConfirmationAnswered(confirmation_id=ask.question.confirmation_id, approved=False))
        story.add(result(first, "the person declined this call", ok=False))
        round_of(story, 2, ("fs.write", WRITE), ("fs.read", OUT))
        assert not any(isinstance(cmd, c.Ask) for cmd in story.next())

    def test_a_round_of_only_refused_repeats_ends_the_step(self) -> None:
        """Round 2 asks for nothing but the denied call (four times): the step stops, failed,
        saying which call was refused and why; no third round is asked for."""
        story = step_story()
        (first,) = round_of(story, 1, ("fs.read", OUT))
        story.add(decided(first, "deny", "outside-roots"), denied(first))
        again = round_of(story, 2, *[("fs.read", OUT)] * 4)
        (cmd,) = story.next()  # the first repeats the denial; its twins wait for it
        assert isinstance(cmd, c.RecordResult)
        assert cmd.result.call_id == again[0].call_id
        story.add(cmd.result)
        twins = story.next()
        assert [cmd.result.call_id for cmd in twins if isinstance(cmd, c.RecordResult)] == [
            x.call_id for x in again[1:]
        ]
        story.add(*[cmd.result for cmd in twins if isinstance(cmd, c.RecordResult)])
        assert {story.events[-1].repeated_of} == {first.call_id}
        (finish,) = story.next()
        assert isinstance(finish, c.FinishStep)
        assert not finish.ok
        assert finish.result.startswith('stopped: asked again for a refused call: fs.read {"path": "/etc"}: denied')

    def test_a_round_with_something_new_goes_on(self) -> None:
        """A refused repeat beside a new call: the model is not stuck, round 3 is asked for."""
        story = step_story()
        (first,) = round_of(story, 1, ("fs.read", OUT))
        story.add(decided(first, "deny", "outside-roots"), denied(first))
        again, new = round_of(story, 2, ("fs.read", OUT), ("fs.read", {"path": "/home/x"}))
        story.add(msgspec.structs.replace(denied(again), repeated_of=first.call_id))
        story.add(decided(new, "allow"), result(new, "x"))
        assert story.one(c.RequestAction).round == 3


CHOICES = [("fs.read", OUT), ("fs.read", {"path": "/b"}), ("fs.write", WRITE), ("system.time", {})]
"""The policy below: /etc denied, /b allowed, the write asked about (and declined), the clock allowed."""


def drive(rounds: list[list[int]]) -> tuple[Story, list[c.Command]]:
    """Run step 1 through ``rounds`` (the model's choices, indexes into CHOICES), answering every
    command as the policy and the person above would, until the step ends or the rounds run out."""
    story, seen = step_story(), []
    rnd = 0
    for _ in range(200):
        cmds = story.next()
        seen.extend(cmds)
        if not cmds or any(isinstance(cmd, c.FinishStep | c.ReachCap) for cmd in cmds):
            return story, seen
        for cmd in cmds:
            match cmd:
                case c.RequestAction():
                    if rnd >= len(rounds):
                        return story, seen
                    rnd += 1
                    round_of(story, rnd, *[CHOICES[i] for i in rounds[rnd - 1]])
                case c.RequestDecision(call=call):
                    decision = {"/etc": "deny", "/a": "ask"}.get(call.args.get("path", ""), "allow")
                    story.add(decided(call, decision, "r"))
                case c.Ask(question=q):
                    story.add(q, e.ConfirmationAnswered(confirmation_id=q.confirmation_id, approved=False))
                case c.RunTool(call=call):
                    story.add(result(call, "ok"))
                case c.RecordResult(result=res):
                    story.add(res)
                case _:
                    raise AssertionError(cmd)
    raise AssertionError("the loop did not settle")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, len(CHOICES) - 1), min_size=1, max_size=4), min_size=1, max_size=4))
def test_nothing_refused_is_decided_or_asked_twice(rounds: list[list[int]]) -> None:
    """Whatever the model asks for, in whatever rounds: a refused call is decided once and asked
    about once, every call ends with a result, and a round of only refused repeats ends the step."""
    story, seen = drive(rounds)
    decisions = [signature(cmd.call) for cmd in seen if isinstance(cmd, c.RequestDecision)]
    asks = [
        cmd.question.tool + repr(cmd.question.args)
        for cmd in seen
        if isinstance(cmd, c.Ask) and cmd.question.kind == "tool"
    ]
    for choice in (CHOICES[0], CHOICES[2]):
        assert decisions.count(signature(requested(1, 1, 0, *choice))) <= 1
    assert len(asks) == len(set(asks)) <= 1
    finished = [cmd for cmd in seen if isinstance(cmd, c.FinishStep)]
    refused = {signature(requested(1, 1, 0, *CHOICES[i])) for i in (0, 2)}
    stuck = [
        n
        for n, picks in enumerate(rounds, 1)
        if n > 1
        and all(signature(requested(1, 1, 0, *CHOICES[i])) in refused for i in picks)
        and all(any(CHOICES[i] == CHOICES[j] for r in rounds[: n - 1] for j in r) for i in picks)
    ]
    if stuck:
        assert finished
        assert not finished[0].ok
        assert finished[0].result.startswith("stopped: asked again")
        assert max(r.round for r in story_requests(story)) == stuck[0]


def story_requests(story: Story) -> list[e.ToolRequested]:
    return [ev for ev in story.events if isinstance(ev, e.ToolRequested)]
