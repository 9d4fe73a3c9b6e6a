"""The agent loop as a decider: ``decide(state, context)`` says what happens next, purely.

It walks the loop from the top over the folded state (``task_state``): plan,
then each step in rounds of tool calls (policy first; "ask" waits for the
person; at most ``max_calls_per_round`` calls a round and ``max_rounds``
rounds, then the person is asked whether to extend), the Critic's verdict
(retry once, replan within ``max_replans``), and the answer. Wherever the state
lacks something, the walk stops and returns the commands that would supply it;
an empty list means the task waits (for a person, a model, a tool). The same
walk after a restart finds what was already decided and continues.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

from greenroom.actors import repeats
from greenroom.actors.arguments import fixed_args
from greenroom.actors.base import CallFailed
from greenroom.actors.claims import unsupported_claim
from greenroom.actors.commands import (
    Ask,
    Command,
    FailTask,
    FinishStep,
    FinishTask,
    Judge,
    PublishCalls,
    ReachCap,
    RecordResult,
    RequestAction,
    RequestAnswer,
    RequestDecision,
    RequestPlan,
    RequestVerdict,
    RunTool,
    StartStep,
    TimeOut,
    WakeAt,
)
from greenroom.actors.decide_context import Context, ToolTraits
from greenroom.actors.repeats import confirmation_id
from greenroom.actors.schemas import ActionOutput, decode_output
from greenroom.actors.task_state import TaskState
from greenroom.bus.events import (
    ConfirmationAnswered,
    ConfirmationAsked,
    CriticVerdict,
    PlanStep,
    ToolRequested,
    ToolResult,
)
from greenroom.policy.describe import call_question

MAX_OBSERVATION = 600
STOPPED_AT_CAP = "stopped: the step reached its tool-round cap"
REMINDER_PREFIX = "Reminder: "
"""How a reminder's task answers when its time comes (then its goal)."""


def decide(state: TaskState, ctx: Context) -> list[Command]:
    """The commands that move ``state`` on; empty while it waits (or once it ended)."""
    if state.incarnation == 0 or state.ended:
        return []
    if state.failure is not None:
        return [FailTask(state.failure.code, state.failure.error)]
    if state.reminder:  # said, never run: what a reminder says is not a goal
        return [FinishTask(f"{REMINDER_PREFIX}{state.goal}", remember=False)]
    try:
        walk = _Walk(state, ctx)
        answer = walk.run()
        remember = walk.remember()
    except _Pending as pending:
        return pending.commands
    return [FinishTask(answer) if remember is None else FinishTask(answer, remember=remember)]


class _Pending(Exception):
    def __init__(self, commands: list[Command]) -> None:
        self.commands = commands


def _pend(*commands: Command) -> NoReturn:
    raise _Pending(list(commands))


def _says_why(reason: str) -> bool:
    """A replan needs a reason worth a new plan (a few words at least)."""
    return len(reason.split()) >= 3


def _outcome(result: ToolResult) -> str:
    return result.output if result.ok else f"error: {result.error}"


def observation(call: ToolRequested, out: str) -> str:
    """How a call and its outcome are shown to the model in the next round."""
    text = f"- {call.tool}({json.dumps(call.args, ensure_ascii=False)}) -> {out}"
    return text if len(text) <= MAX_OBSERVATION else text[:MAX_OBSERVATION] + " [...]"


def done_text(done: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"{i}. {intent}: {result}" for i, (intent, result) in enumerate(done, 1))


class _Walk:
    """One walk of the loop over the state; raises ``_Pending`` where something is missing."""

    def __init__(self, state: TaskState, ctx: Context) -> None:
        self.s = state
        self.ctx = ctx
        self.agent = ctx.agent

    def run(self) -> str:
        s, agent = self.s, self.agent
        steps = list(self._plan(0, ""))
        if not steps and 0 in s.answers:
            return self._direct_answer(s.answers[0])
        done: list[tuple[str, str]] = []
        step_no = replans = i = 0
        last: tuple[int, PlanStep] | None = None
        note = ""
        retried = False
        while i < len(steps) and step_no < agent.max_steps:
            step_no += 1
            result, _ok = self._step(step_no, steps[i], tuple(done), note)
            verdict = self._verdict(step_no, steps[i], result)
            note = ""
            if verdict is not None and verdict.verdict != "accept":
                if verdict.verdict == "retry" and not retried:
                    retried, note = True, verdict.reason
                    continue
                if verdict.verdict == "replan" and replans < agent.max_replans and _says_why(verdict.reason):
                    retried = False
                    done.append((steps[i].intent, result))
                    last = (step_no, steps[i])
                    replans += 1
                    feedback = done_text(tuple(done)) + f"\nWhy a new plan: {verdict.reason}"
                    steps = steps[: i + 1] + list(self._plan(replans, feedback))
                    i += 1
                    continue
                if verdict.verdict != "replan" or _says_why(verdict.reason):
                    why = f"step {step_no} ({steps[i].intent}) was not accepted: {verdict.reason}"
                    _pend(FailTask("not_accepted", why))
            retried = False
            done.append((steps[i].intent, result))
            last = (step_no, steps[i])
            i += 1
        return self._answer(tuple(done), last)

    def _direct_answer(self, answer: str) -> str:
        """The first call's answer, unless it claims to have done something (then: plan, with tools)."""
        claim = unsupported_claim(answer, ())
        if claim is None:
            return answer.strip()
        steps = self._plan(1, f"You answered: {answer}\nBut {claim}. Plan the steps, each with its tool.")
        if not steps:
            _pend(FailTask("not_accepted", f"the answer claims an action no tool performed: {claim}"))
        return self._answer_after_replan(steps)

    def _answer_after_replan(self, steps: tuple[PlanStep, ...]) -> str:
        done: list[tuple[str, str]] = []
        for n, step in enumerate(steps[: self.agent.max_steps], 1):
            result, _ok = self._step(n, step, tuple(done), "")
            verdict = self._verdict(n, step, result)
            if verdict is not None and verdict.verdict != "accept":
                _pend(FailTask("not_accepted", f"step {n} ({step.intent}) was not accepted: {verdict.reason}"))
            done.append((step.intent, result))
        return self._answer(tuple(done), (n, step) if done else None)

    def _answer(self, done: tuple[tuple[str, str], ...], last: tuple[int, PlanStep] | None = None) -> str:
        text = self.s.outputs.get("answer")
        if text is None:
            if self.agent.pass_through and len(done) == 1:
                return done[0][1]  # one step: its result answers the task
            if self.agent.pass_through and last is not None and self._passed_through(*last) == done[-1][1]:
                return done[-1][1]  # the last step's own tools said what was done: that is the answer
            _pend(RequestAnswer(done))
        return text.strip() or "(the model gave no answer)"

    def remember(self) -> bool | None:
        """With ``agent.remember_tasks = "ask"``: the person's answer (may a summary go into memory?).

        False without asking when a call was declined, denied or failed: such an answer ("the
        person declined this call") says nothing true that a later task should find; and when
        every call went to a tool that is not ``memorable`` (a recall's answer kept as a task
        summary came back above the note itself on the next recall).
        """
        if any(not r.ok for r in self.s.results.values()):
            return False
        called = [call.tool for calls in self.s.requests.values() for call in calls]
        if called and not any(self.ctx.tools.get(tool, ToolTraits()).memorable for tool in called):
            return False  # its answer is memory's own, or the time, or a sum: nothing to keep
        if self.agent.remember_tasks != "ask":
            return None
        approved = self._confirm(
            f"{self.s.task_id}:remember",
            kind="remember",
            question="Keep a short summary of this task (its goal and answer) in memory, so later tasks can find it?",
        )
        if isinstance(approved, list):
            _pend(*approved)
        return approved

    def _plan(self, revision: int, feedback: str) -> tuple[PlanStep, ...]:
        plan = self.s.plans.get(revision)
        if plan is None:
            _pend(RequestPlan(revision, feedback))
        return plan

    def _step_calls(self, step: int) -> list[ToolRequested]:
        return [call for (n, _r), calls in sorted(self.s.requests.items()) if n == step for call in calls]

    def _evidence(self, step: int) -> str:
        """The step's tool calls and what they returned (what the Critic holds the result against)."""
        return "\n".join(
            observation(call, _outcome(self.s.results[call.call_id]))
            for call in self._step_calls(step)
            if call.call_id in self.s.results
        )

    def _verdict(self, n: int, step: PlanStep, result: str) -> CriticVerdict | None:
        """The step's verdict: a rule's, the Critic's, or None when the step needs no judging."""
        s, mode = self.s, self.agent.critic
        if n in s.verdicts:
            return s.verdicts[n]
        calls = [c for c in self._step_calls(n) if c.call_id in s.results]
        effects = [self._effects(c.tool) for c in calls if s.results[c.call_id].ok]
        claim = unsupported_claim(result, effects)
        if claim is not None:
            _pend(Judge(n, "retry", f"the result {claim}; call the tool that does it", "unperformed-action"))
        if mode == "auto" and result == self._passed_through(n, step):
            return None  # the result is the tools' own output: nothing a model could check better
        judged = mode == "always" or (mode == "auto" and any(e in ("write", "external") for e in effects))
        if not judged:
            return None
        _pend(RequestVerdict(n, step.intent, result, self._evidence(n)))

    def _effects(self, tool: str) -> str:
        traits = self.ctx.tools.get(tool)
        return traits.side_effects if traits is not None else "external"

    # -- a step: rounds of tool calls ----------------------------------------------------

    def _step(self, n: int, step: PlanStep, done: tuple[tuple[str, str], ...], note: str) -> tuple[str, bool]:
        s, agent = self.s, self.agent
        if n in s.steps_finished:
            finished = s.steps_finished[n]
            return finished.result, finished.ok
        if n not in s.steps_started:
            _pend(StartStep(n, step.intent))
        observations: list[str] = []
        max_rounds, extensions, rnd = agent.max_rounds, 0, 0
        while True:
            rnd += 1
            if rnd > max_rounds:
                cap = [] if (n, max_rounds) in s.caps else [ReachCap(n, max_rounds, agent.max_calls_per_round)]
                approved = self._confirm(
                    f"{s.task_id}:{n}:extend:{extensions}",
                    kind="extend",
                    question=f"Step {n} ({step.intent}) used its {max_rounds} rounds of tool calls. "
                    f"Allow {agent.max_rounds} more?",
                )
                if isinstance(approved, list):
                    _pend(*cap, *approved)
                if not approved:
                    _pend(FinishStep(n, STOPPED_AT_CAP, ok=False))
                extensions += 1
                max_rounds += agent.max_rounds
            calls = self._round(n, rnd, step, done, tuple(observations), note)
            if isinstance(calls, str):
                _pend(FinishStep(n, calls))
            observations.extend(self._run_calls(calls))
            stuck = repeats.refused_again(self.s, calls) or self._words_failed(n, rnd, calls)
            if stuck is not None:
                _pend(FinishStep(n, stuck, ok=False))
            passed = self._passed_through(n, step)
            if passed is not None:
                _pend(FinishStep(n, passed))

    def _words_failed(self, n: int, rnd: int, calls: list[ToolRequested]) -> str | None:
        """The error of a round made without the model (the step's words fixed the call) that failed.

        Asked next, the model has nothing the words did not give: it repeats the call or makes
        up arguments (a reminder without a time got the time ``"},``). The step ends with the error.
        """
        if f"step:{n}:round:{rnd}" in self.s.outputs or not calls:
            return None
        results = [self.s.results[c.call_id] for c in calls]
        if any(r.ok for r in results):
            return None
        return "; ".join(f"{c.tool}: {r.error}" for c, r in zip(calls, results, strict=True))

    def _named(self, step: PlanStep) -> list[str]:
        """The known tools the plan named for the step (when the loop holds the step to them)."""
        return [t for t in step.tools if t in self.ctx.tools] if self.agent.forced_tools else []

    def _passed_through(self, n: int, step: PlanStep) -> str | None:
        """The named tools' outputs, verbatim, once each of them succeeded in the step."""
        named = self._named(step)
        if not (self.agent.pass_through and named):
            return None
        outputs: dict[str, str] = {}
        for call in self._step_calls(n):
            result = self.s.results.get(call.call_id)
            if call.tool in named and result is not None and result.ok:
                text = result.output.strip()
                if self._effects(call.tool) in ("write", "external"):
                    text = text.split("\n", 1)[0]  # what was done, not the whole diff
                outputs[call.tool] = text
        return "\n".join(outputs.values()) if set(named) <= set(outputs) else None

    def _round(
        self,
        n: int,
        rnd: int,
        step: PlanStep,
        done: tuple[tuple[str, str], ...],
        observations: tuple[str, ...],
        note: str,
    ) -> list[ToolRequested] | str:
        """The round's calls (all journaled), or the step's result when the model finished it."""
        s = self.s
        have = sorted(s.requests.get((n, rnd), ()), key=repeats.call_index)
        text = s.outputs.get(f"step:{n}:round:{rnd}")
        if text is None:
            if have:
                return have
            named = self._named(step)
            called = {c.tool for c in self._step_calls(n)}
            must = tuple(named) if named and not called & set(named) else ()
            fixed = self._fixed_args(must, step.intent, done)
            if fixed is not None:
                only = ToolRequested(call_id=f"{s.task_id}:{n}:{rnd}:0", tool=must[0], args=fixed, step=n, round=rnd)
                _pend(PublishCalls(n, rnd, (only,)))  # nothing to choose: no model call needed
            _pend(RequestAction(n, rnd, step.intent, done, observations, must, note))
        try:
            action = decode_output(text, ActionOutput, "tool-call decision")
        except CallFailed as exc:
            _pend(FailTask(exc.code, str(exc)))
        if action.action == "finish" or not action.calls:
            return action.result.strip() or "done"
        known = {c.call_id for c in have}
        wanted = [
            ToolRequested(call_id=f"{s.task_id}:{n}:{rnd}:{i}", tool=c.tool, args=c.args, step=n, round=rnd)
            for i, c in enumerate(action.calls[: self.agent.max_calls_per_round])
        ]
        missing = tuple(c for c in wanted if c.call_id not in known)
        if missing:
            _pend(PublishCalls(n, rnd, missing))
        return have

    def _fixed_args(
        self, must: tuple[str, ...], intent: str, done: tuple[tuple[str, str], ...]
    ) -> dict[str, Any] | None:
        """The one tool's arguments when the model would have nothing to choose (the schema it
        would get, pinned for the step, allows a single value); else None."""
        if len(must) != 1:
            return None
        traits = self.ctx.tools[must[0]]
        if not traits.takes_args:
            return {}
        return fixed_args(traits.schema, intent, done[-1][1] if done else "")

    def _run_calls(self, calls: list[ToolRequested]) -> list[str]:
        """Observations of a round whose calls all have results; else pends what each call needs."""
        commands: list[Command] = []
        waiting = False
        for call in calls:
            if call.call_id not in self.s.results:
                waiting = True
                commands.extend(self._call(call))
        if waiting:
            _pend(*commands)
        return [observation(c, _outcome(self.s.results[c.call_id])) for c in calls]

    def _call(self, call: ToolRequested) -> list[Command]:
        """What one call without a result needs next (an empty list: it waits)."""
        s = self.s
        traits = self.ctx.tools.get(call.tool)
        twin = repeats.twin(s, call)
        if twin is not None and twin not in s.results:
            return []  # its twin earlier in the round goes first; this one then repeats its outcome
        earlier = twin or repeats.earlier_identical(s, call)
        writes = traits is not None and traits.side_effects not in ("none", "read")
        if earlier is not None and (twin or writes or repeats.refused(s, earlier)):
            return [RecordResult(repeats.repeat_of(s, call, earlier))]
        decided = s.decided.get(call.call_id)
        if decided is None:
            return [RequestDecision(call, s.flagged)]
        if decided.decision == "deny":
            return [_failed(call, f"denied by policy (rule {decided.rule}): {decided.reason}")]
        if decided.decision == "ask":
            question = call_question(call.tool, call.args, decided.resolved)
            approved = self._confirm(call.call_id, "tool", question, call, decided.rule, decided.resolved)
            if isinstance(approved, list):
                return approved
            if not approved:
                return [_failed(call, "the person declined this call")]
        if call.call_id in s.in_flight_before_restart and not (traits is not None and traits.idempotent):
            again = self._confirm(
                f"{call.call_id}:rerun:{s.invoked[call.call_id]}",  # each interruption is its own question
                "rerun",
                f"{call.tool} was running when greenroom stopped and may already have acted. Run it again? "
                + call_question(call.tool, call.args, decided.resolved),
                call,
                "in-flight",
                decided.resolved,
            )
            if isinstance(again, list):
                return again
            if not again:
                return [_failed(call, "not run again: it may already have run before greenroom stopped")]
        return [RunTool(call, dict(decided.resolved), earlier or "")]

    # -- questions -----------------------------------------------------------------------

    def _confirm(
        self,
        key: str,
        kind: str,
        question: str,
        call: ToolRequested | None = None,
        rule: str = "",
        resolved: Mapping[str, str] | None = None,
    ) -> bool | list[Command]:
        """The person's answer to the question ``key``, or the commands while there is none."""
        cid = confirmation_id(key)
        asked = self.s.asked.get(cid)
        if asked is not None and asked.answer is not None:
            return asked.answer.approved
        if asked is None:
            return [Ask(_question(cid, kind, question, call, rule, resolved))]
        timeout = self.agent.confirmation_timeout_s
        if timeout <= 0:
            return []
        deadline = asked.asked_at + timeout
        if self.ctx.now >= deadline:
            return [TimeOut(ConfirmationAnswered(confirmation_id=cid, approved=False, client="timeout"))]
        return [WakeAt(deadline)]


def _question(
    cid: str, kind: str, text: str, call: ToolRequested | None, rule: str, resolved: Mapping[str, str] | None
) -> ConfirmationAsked:
    extra: dict[str, Any] = {}
    if call is not None:
        extra = {"call_id": call.call_id, "tool": call.tool, "args": call.args}
    return ConfirmationAsked(
        confirmation_id=cid,
        question=text,
        kind=kind,  # type: ignore[arg-type]
        rule=rule,
        resolved=dict(resolved or {}),
        **extra,
    )


def _failed(call: ToolRequested, error: str) -> RecordResult:
    return RecordResult(ToolResult(call_id=call.call_id, tool=call.tool, ok=False, error=error))
