"""One task's agent loop, as durable sequential code.

A ``TaskRun`` plans, runs each step in rounds of tool calls, has each step
judged, and answers. Every decision it makes is an event in the journal, and
before making one it looks for it in the task's history: after a crash or a
restart the same code runs again from the top, replaying what was already
decided (plans, verdicts, policy decisions, answers to confirmations, tool
results) and doing only what was not. A tool call's id is its idempotency
key; a call whose result is journaled is never run again, and one that was
running when the daemon died is run again with the same key.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from greenroom.actors.base import (
    ActorCrashedError,
    ActorHandle,
    ActorUnavailableError,
    CallFailed,
    Interrupted,
)
from greenroom.actors.prompts import ActionOutput, action_messages, answer_messages, decode_output
from greenroom.bus.codec import read_envelopes
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import (
    ConfirmationAnswered,
    ConfirmationAsked,
    CriticVerdict,
    Event,
    GuardFlagged,
    PlanStep,
    StepCapReached,
    StepFinished,
    StepStarted,
    TaskCancelled,
    TaskFailed,
    TaskFinished,
    TaskParked,
    TaskPlanned,
    TaskStarted,
    ToolDecided,
    ToolInvoked,
    ToolRequested,
    ToolResult,
)
from greenroom.models.backend import GenerationRequest
from greenroom.policy import call_question
from greenroom.policy.guards import find_injection, redact
from greenroom.tools.spec import ToolContext, ToolError

if TYPE_CHECKING:
    from greenroom.actors.deps import ActorDeps

log = structlog.get_logger(__name__)

T = TypeVar("T")

_POLL_S = 0.2
_MAX_OBSERVATION = 600


class _Parked(Exception):
    """The daemon is stopping; the task resumes at the next start."""


class _Cancelled(Exception):
    """A person cancelled the task."""


class TaskFailure(Exception):
    """The task cannot go on; the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def confirmation_id(key: str) -> str:
    """A short, stable id for the confirmation identified by ``key``."""
    return "c-" + hashlib.sha1(key.encode()).hexdigest()[:8]


class _MemoryAdapter:
    """Gives tools memory access through the Memory actor."""

    def __init__(self, handle: ActorHandle, task_id: str) -> None:
        self._handle = handle
        self._task_id = task_id

    def remember(self, text: str, tags: list[str], key: str) -> str:
        return self._handle.ask("remember", text, tags, key, self._task_id)

    def recall(self, query: str, limit: int, tags: list[str]) -> list[dict[str, Any]]:
        return self._handle.ask("recall", query, limit, tags)

    def forget(self, item_id: str, query: str) -> list[str]:
        report = self._handle.ask("forget", [item_id] if item_id else None, None, query or None, 1, "agent")
        return list(report.item_ids)


class TaskRun:
    """Runs (or resumes) one task on its own thread.

    Args:
        task_id: the task.
        goal: what the person asked for.
        deps: the actors' shared dependencies.
        history: the task's events so far (empty for a new task).
        resumed: True when continuing after a restart.
    """

    def __init__(self, task_id: str, goal: str, deps: ActorDeps, history: list[Envelope], resumed: bool) -> None:
        self.task_id = task_id
        self.goal = goal
        self.deps = deps
        self.resumed = resumed
        self.stop = threading.Event()
        """Set on cancel or park: generation and waits stop early."""
        self.waiting = False
        self._cancel_reason: str | None = None
        self._repeats: dict[str, str] = {}
        self._last: int | None = history[-1].seq if history else None
        self._index(history)

    # -- history ---------------------------------------------------------------------------

    def _index(self, history: list[Envelope]) -> None:
        self.h_started = False
        self.h_plans: dict[int, TaskPlanned] = {}
        self.h_steps: dict[int, StepStarted] = {}
        self.h_finished: dict[int, StepFinished] = {}
        self.h_requests: dict[tuple[int, int], list[ToolRequested]] = {}
        self.h_decided: dict[str, ToolDecided] = {}
        self.h_invoked: set[str] = set()
        self.h_results: dict[str, ToolResult] = {}
        self.h_asked: dict[str, ConfirmationAsked] = {}
        self.h_answered: dict[str, ConfirmationAnswered] = {}
        self.h_verdicts: dict[int, CriticVerdict] = {}
        self.h_caps: set[tuple[int, int]] = set()
        self.flagged = False
        """A tool output in this task looked like a prompt injection (from then on risky calls ask)."""
        self.h_calls: dict[str, ToolRequested] = {}
        for env in history:
            match env.event:
                case TaskStarted():
                    self.h_started = True
                case TaskPlanned(revision=r):
                    self.h_plans[r] = env.event
                case StepStarted(step=n):
                    self.h_steps[n] = env.event
                case StepFinished(step=n):
                    self.h_finished[n] = env.event
                case ToolRequested(step=n, round=r, call_id=c):
                    self.h_requests.setdefault((n, r), []).append(env.event)
                    self.h_calls[c] = env.event
                case ToolDecided(call_id=c):
                    self.h_decided[c] = env.event
                case ToolInvoked(call_id=c):
                    self.h_invoked.add(c)
                case ToolResult(call_id=c):
                    self.h_results[c] = env.event
                case ConfirmationAsked(confirmation_id=c):
                    self.h_asked[c] = env.event
                case ConfirmationAnswered(confirmation_id=c):
                    self.h_answered[c] = env.event
                case CriticVerdict(step=n):
                    self.h_verdicts[n] = env.event
                case StepCapReached(step=n, rounds=r):
                    self.h_caps.add((n, r))
                case GuardFlagged():
                    self.flagged = True
                case _:
                    pass

    # -- plumbing --------------------------------------------------------------------------

    @property
    def _handles(self):  # type: ignore[no-untyped-def]
        assert self.deps.handles is not None
        return self.deps.handles

    def _emit(self, event: Event, *, durable: bool = False) -> Envelope:
        env = self.deps.bus.publish(
            event,
            source="executor",
            task_id=self.task_id,
            causation_id=self._last,
            correlation_id=self.task_id,
            durable=durable,
        )
        self._last = env.seq
        return env

    def _follow(self, env: Envelope) -> None:
        """Record an event another actor published for this task as the latest cause."""
        self._last = env.seq

    def request_cancel(self, reason: str) -> None:
        self._cancel_reason = reason or "cancelled"
        self.stop.set()

    def _check(self) -> None:
        if self.deps.runs.parking.is_set():
            raise _Parked
        if self._cancel_reason is not None:
            raise _Cancelled(self._cancel_reason)

    def _ask(self, handle: ActorHandle, method: str, *args: Any, **kwargs: Any) -> Any:
        """Ask an actor, retrying across its restarts; fail the task if it keeps crashing."""
        crashes = 0
        while True:
            self._check()
            try:
                return handle.ask(method, *args, **kwargs)
            except ActorCrashedError as exc:
                crashes += 1
                log.warning("actor_call_crashed", actor=exc.actor, method=method, crashes=crashes)
                if crashes >= self.deps.agent.actor_max_crashes:
                    raise TaskFailure(
                        "actor_crashed",
                        f"the {exc.actor} actor crashed {crashes} times while handling "
                        f"{method}: {type(exc.cause).__name__}: {exc.cause}",
                    ) from exc
            except Interrupted:
                self._check()
                raise TaskFailure("interrupted", f"{handle.name}.{method} was interrupted") from None
            except CallFailed as exc:
                raise TaskFailure(exc.code, str(exc)) from exc
            except ActorUnavailableError as exc:
                self._check()
                raise TaskFailure("actor_unavailable", str(exc)) from exc

    def _generate(self, purpose: str, messages: list[Any], schema: dict[str, Any] | None) -> str:
        cfg = self.deps.llm
        request = GenerationRequest(
            messages=messages,
            purpose=purpose,
            schema=schema,
            max_tokens=cfg.max_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
        )
        text, env = self._ask(
            self._handles.llm,
            "generate",
            request,
            task_id=self.task_id,
            causation=self._last,
            stop=self.stop,
        )
        self._follow(env)
        return text

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        """Thread target: run the task to its end (or until parked)."""
        try:
            with structlog.contextvars.bound_contextvars(task_id=self.task_id):
                self._check()
                if self.resumed or not self.h_started:
                    self._emit(TaskStarted(resumed=self.resumed))
                answer = self._execute()
                self._emit(TaskFinished(answer=answer), durable=True)
        except _Parked:
            self._emit(TaskParked(reason="daemon stopping; resumes at the next start"))
        except _Cancelled as exc:
            self._emit(TaskCancelled(reason=str(exc)))
        except TaskFailure as exc:
            self._emit(TaskFailed(error=str(exc), code=exc.code))
        except Exception as exc:
            log.exception("task_crashed", task_id=self.task_id)
            self._emit(TaskFailed(error=f"internal error: {type(exc).__name__}: {exc}", code="internal"))
        finally:
            self.deps.runs.done(self.task_id)

    def _plan(self, revision: int, feedback: str) -> list[PlanStep]:
        if revision in self.h_plans:
            return list(self.h_plans[revision].steps)
        env = self._ask(
            self._handles.planner,
            "plan",
            self.task_id,
            self.goal,
            revision,
            feedback,
            stop=self.stop,
            causation=self._last,
        )
        self._follow(env)
        return list(env.event.steps)

    def _execute(self) -> str:
        agent = self.deps.agent
        steps = self._plan(0, "")
        results: list[tuple[str, str]] = []
        step_no = 0
        replans = 0
        retried = False
        i = 0
        while i < len(steps) and step_no < agent.max_steps:
            step_no += 1
            intent = steps[i].intent
            result, _ok = self._run_step(step_no, steps[i], results)
            verdict = self._judge(step_no, intent, result)
            if verdict.verdict == "retry" and not retried:
                retried = True
                continue
            retried = False
            results.append((intent, result))
            i += 1
            if verdict.verdict == "replan" and replans < agent.max_replans:
                replans += 1
                feedback = _done_text(results) + f"\nCritic: {verdict.reason}"
                steps = steps[:i] + self._plan(replans, feedback)
        return self._answer(results)

    def _judge(self, step: int, intent: str, result: str) -> CriticVerdict:
        if step in self.h_verdicts:
            return self.h_verdicts[step]
        env = self._ask(
            self._handles.critic,
            "judge",
            self.task_id,
            self.goal,
            step,
            intent,
            result,
            stop=self.stop,
            causation=self._last,
        )
        self._follow(env)
        return env.event

    def _answer(self, results: list[tuple[str, str]]) -> str:
        text = self._generate("answer", answer_messages(self.goal, _done_text(results)), None)
        return text.strip() or "(the model gave no answer)"

    # -- steps and rounds ------------------------------------------------------------------

    def _run_step(self, n: int, step: PlanStep, results: list[tuple[str, str]]) -> tuple[str, bool]:
        if n in self.h_finished:
            done = self.h_finished[n]
            return done.result, done.ok
        if n not in self.h_steps:
            self._emit(StepStarted(step=n, intent=step.intent))
        agent = self.deps.agent
        observations: list[str] = []
        max_rounds = agent.max_rounds
        extensions = 0
        rnd = 0
        result: str | None = None
        while result is None:
            rnd += 1
            if rnd > max_rounds:
                if (n, max_rounds) not in self.h_caps:
                    self._emit(StepCapReached(step=n, rounds=max_rounds, calls=agent.max_calls_per_round))
                more = agent.max_rounds
                approved = self._confirm(
                    f"{self.task_id}:{n}:extend:{extensions}",
                    kind="extend",
                    question=(
                        f"Step {n} ({step.intent}) used its {max_rounds} rounds of tool calls. Allow {more} more?"
                    ),
                )
                if not approved:
                    result = "stopped: the step reached its tool-round cap"
                    break
                extensions += 1
                max_rounds += more
            calls = self._round_calls(n, rnd, step, results, observations)
            if isinstance(calls, str):
                result = calls
                break
            observations.extend(self._run_calls(calls))
        ok = not result.startswith("stopped:")
        self._emit(StepFinished(step=n, result=result, ok=ok))
        return result, ok

    def _round_calls(
        self,
        n: int,
        rnd: int,
        step: PlanStep,
        results: list[tuple[str, str]],
        observations: list[str],
    ) -> list[ToolRequested] | str:
        """This round's tool calls (replayed or asked of the model), or the step's result."""
        if (n, rnd) in self.h_requests:
            return self.h_requests[(n, rnd)]
        tools = self.deps.tools
        schema = tools.call_schema(self.deps.agent.max_calls_per_round)
        text = self._generate(
            f"step:{n}:round:{rnd}",
            action_messages(self.goal, step.intent, tools, _done_text(results), observations),
            schema,
        )
        try:
            action = decode_output(text, ActionOutput, "tool-call decision")
        except CallFailed as exc:
            raise TaskFailure(exc.code, str(exc)) from None
        if action.action == "finish" or not action.calls:
            return action.result.strip() or "done"
        requests = []
        for i, call in enumerate(action.calls[: self.deps.agent.max_calls_per_round]):
            req = ToolRequested(
                call_id=f"{self.task_id}:{n}:{rnd}:{i}",
                tool=call.tool,
                args=call.args,
                step=n,
                round=rnd,
            )
            self._emit(req)
            requests.append(req)
        return requests

    def _run_calls(self, calls: list[ToolRequested]) -> list[str]:
        """Decide, confirm and run one round's calls; return what the model should see."""
        observations: dict[str, str] = {}
        approved: list[ToolRequested] = []
        for call in calls:
            repeated = self._repeat_of(call)
            if repeated is not None:
                observations[call.call_id] = repeated
                continue
            verdict = self._decide(call)
            if verdict is not None:
                observations[call.call_id] = verdict
            else:
                approved.append(call)
        if approved:
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(approved)) as pool:
                for call, out in zip(approved, pool.map(self._invoke, approved), strict=False):
                    observations[call.call_id] = out
        return [_observation(c, observations[c.call_id]) for c in calls]

    def _repeat_of(self, call: ToolRequested) -> str | None:
        """If an identical call with side effects already ran in this task, reuse its result.

        Reads run again (the time or a file may have changed), reported as repeats; a
        write or external action never runs twice for the same arguments.
        """
        if call.call_id in self.h_results:
            return None
        signature = _signature(call)
        earlier = next(
            (
                c
                for c in self.h_calls.values()
                if c.call_id != call.call_id and _signature(c) == signature and c.call_id in self.h_results
            ),
            None,
        )
        self.h_calls.setdefault(call.call_id, call)
        if earlier is None:
            return None
        try:
            side_effects = self.deps.tools.get(call.tool).side_effects
        except ToolError:
            return None
        if side_effects in ("none", "read"):
            self._repeats[call.call_id] = earlier.call_id
            return None
        prev = self.h_results[earlier.call_id]
        result = ToolResult(
            call_id=call.call_id,
            tool=call.tool,
            ok=prev.ok,
            output=prev.output,
            error=prev.error,
            repeated_of=earlier.call_id,
        )
        self._emit(result)
        self.h_results[call.call_id] = result
        note = f"(identical to {earlier.call_id}; not run again) "
        return note + (prev.output if prev.ok else f"error: {prev.error}")

    def _decide(self, call: ToolRequested) -> str | None:
        """Pass ``call`` through Policy; None when it may run, else what the model is told."""
        if call.call_id in self.h_results:
            return None  # it ran before the restart; _invoke replays its result
        decided = self.h_decided.get(call.call_id)
        if decided is None:
            env = self._ask(
                self._handles.policy,
                "decide",
                self.task_id,
                call.call_id,
                call.tool,
                call.args,
                flagged=self.flagged,
                causation=self._last,
            )
            self._follow(env)
            decided = env.event
            self.h_decided[call.call_id] = decided
        if decided.decision == "deny":
            return self._fail_call(call, f"denied by policy (rule {decided.rule}): {decided.reason}")
        if decided.decision == "ask":
            ok = self._confirm(
                call.call_id,
                kind="tool",
                question=call_question(call.tool, call.args, decided.resolved),
                call=call,
                rule=decided.rule,
                resolved=decided.resolved,
            )
            if not ok:
                return self._fail_call(call, "the person declined this call")
        return None

    def _fail_call(self, call: ToolRequested, error: str) -> str:
        if call.call_id not in self.h_results:
            result = ToolResult(call_id=call.call_id, tool=call.tool, ok=False, error=error)
            self._emit(result)
            self.h_results[call.call_id] = result
        return f"error: {error}"

    def _invoke(self, call: ToolRequested) -> str:
        """Run one approved call (or replay its journaled result)."""
        done = self.h_results.get(call.call_id)
        if done is not None:
            return done.output if done.ok else f"error: {done.error}"
        if call.call_id in self.h_invoked:
            log.warning("tool_rerun_after_interruption", call_id=call.call_id, tool=call.tool)
        try:
            spec = self.deps.tools.get(call.tool)
            args = spec.parse_args(call.args)
        except ToolError as exc:
            return self._fail_call(call, str(exc))
        # Durable before the side effect: after a crash, the journal says it may have run.
        self._emit(ToolInvoked(call_id=call.call_id, tool=call.tool), durable=True)
        ctx = ToolContext(
            task_id=self.task_id,
            call_id=call.call_id,
            config=self.deps.tools_config,
            memory=_MemoryAdapter(self._handles.memory, self.task_id),
            cancel=self.stop,
            approved_paths=dict(decided.resolved) if (decided := self.h_decided.get(call.call_id)) else {},
        )
        started = time.perf_counter()
        ok, output, error = _run_tool(lambda: spec.run(ctx, args), spec.timeout_s)
        # Secrets never go further than this: not to the model, the journal or memory.
        output, found = redact(output)
        error, found_in_error = redact(error)
        result = ToolResult(
            call_id=call.call_id,
            tool=call.tool,
            ok=ok,
            output=output,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            repeated_of=self._repeats.get(call.call_id, ""),
            redacted=sorted(set(found + found_in_error)),
        )
        self._emit(result)
        self.h_results[call.call_id] = result
        phrase = find_injection(output + "\n" + error)
        if phrase is not None:
            self.flagged = True
            self._emit(GuardFlagged(call_id=call.call_id, tool=call.tool, phrase=phrase), durable=True)
        return output if ok else f"error: {error}"

    # -- confirmations ---------------------------------------------------------------------

    def _confirm(
        self,
        key: str,
        *,
        kind: str,
        question: str,
        call: ToolRequested | None = None,
        rule: str = "",
        resolved: dict[str, str] | None = None,
    ) -> bool:
        """Ask the person (once, across restarts) and wait for any client's answer."""
        cid = confirmation_id(key)
        if cid in self.h_answered:
            return self.h_answered[cid].approved
        waiter = self.deps.runs.waiter(cid)
        try:
            if cid not in self.h_asked:
                self._emit(
                    ConfirmationAsked(
                        confirmation_id=cid,
                        question=question,
                        kind=kind,  # type: ignore[arg-type]
                        call_id=call.call_id if call else "",
                        tool=call.tool if call else "",
                        args=call.args if call else {},
                        rule=rule,
                        resolved=resolved or {},
                    ),
                    durable=True,
                )
            # The answer may have been journaled while this run was not waiting yet.
            view = self.deps.tasks.get(self.task_id)
            if view is not None and all(c.confirmation_id != cid for c in view.confirmations):
                answered = self._answer_from_journal(cid)
                if answered is not None:
                    return answered
            timeout = self.deps.agent.confirmation_timeout_s
            deadline = time.monotonic() + timeout if timeout > 0 else None
            self.waiting = True
            while not waiter.wait(_POLL_S):
                self._check()
                if deadline is not None and time.monotonic() > deadline:
                    self._emit(
                        ConfirmationAnswered(confirmation_id=cid, approved=False, client="timeout"),
                        durable=True,
                    )
                    return False
            return waiter.approved
        finally:
            self.waiting = False
            self.deps.runs.drop_waiter(cid)

    def _answer_from_journal(self, cid: str) -> bool | None:
        for env in read_envelopes(self.deps.bus.journal, task_id=self.task_id, types=["confirmation.answered"]):
            ev = env.event
            if isinstance(ev, ConfirmationAnswered) and ev.confirmation_id == cid:
                return ev.approved
        return None


def _run_tool(fn: Callable[[], str], timeout_s: float) -> tuple[bool, str, str]:
    """Run a tool function with a timeout: (ok, output, error)."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn)
    try:
        return True, future.result(timeout=timeout_s), ""
    except concurrent.futures.TimeoutError:
        return False, "", f"timed out after {timeout_s:g}s"
    except ToolError as exc:
        return False, "", str(exc)
    except Exception as exc:
        log.exception("tool_failed")
        return False, "", f"{type(exc).__name__}: {exc}"
    finally:
        pool.shutdown(wait=False)


def _signature(call: ToolRequested) -> str:
    return call.tool + " " + json.dumps(call.args, sort_keys=True, ensure_ascii=False)


def _observation(call: ToolRequested, out: str) -> str:
    args = json.dumps(call.args, ensure_ascii=False)
    text = f"- {call.tool}({args}) -> {out}"
    return text if len(text) <= _MAX_OBSERVATION else text[:_MAX_OBSERVATION] + " [...]"


def _done_text(results: list[tuple[str, str]]) -> str:
    return "\n".join(f"{i}. {intent}: {result}" for i, (intent, result) in enumerate(results, 1))


__all__ = ["TaskFailure", "TaskRun", "confirmation_id"]
