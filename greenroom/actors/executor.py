"""The Executor: folds each running task's events and carries out what ``decide`` says.

It holds no thread per task. It subscribes to the bus; each event of a task it
runs is folded into that task's state (``evolve``), then ``decide`` names the
next commands, which it carries out: it publishes the loop's own events, tells
the Planner, Critic, LLM and Policy what to produce (their results come back as
events), and hands approved tool calls to the bounded ``ToolRunner``. A task
that waits for a person, a model or a tool is just its state.

A command is not repeated while it is in flight (until ``decide`` stops asking
for it). A message lost to an actor's crash is sent again once the actor is
back; a command that crashes its actor ``agent.actor_max_crashes`` times fails
its task with the reason.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog
from typing_extensions import assert_never

from greenroom.actors import commands as c
from greenroom.actors import grounding
from greenroom.actors.arguments import pin_call_schema
from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor
from greenroom.actors.decide import decide, done_text
from greenroom.actors.decide_context import Context, ToolTraits
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import (
    CancelTask,
    DecideCall,
    ExecutorMessage,
    Generate,
    JudgeStep,
    ParkAll,
    PlanTask,
    Tick,
    Wake,
)
from greenroom.actors.prompts import action_messages, answer_messages
from greenroom.actors.task_state import TaskState, changes_state, evolve, fold
from greenroom.bus.bus import Subscription
from greenroom.bus.codec import read_envelopes
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import (
    ActorCrashed,
    ActorRestarted,
    CriticVerdict,
    Event,
    StepCapReached,
    StepFinished,
    StepStarted,
    TaskCancelled,
    TaskFailed,
    TaskFinished,
    TaskParked,
    TaskStarted,
)
from greenroom.bus.protocol import TERMINAL_STATUSES
from greenroom.models.backend import GenerationRequest, Message
from greenroom.tools.spec import ToolSpec

log = structlog.get_logger(__name__)

TERMINAL = ("finished", "failed", "cancelled")
ACTION_REPETITION_PENALTY = 1.15
"""Small models loop inside a long string argument ("this is a note... this is a note..."):
a mild penalty ends that (measured on the default: contents go from loops to the items asked for)."""
ANSWER_TOKENS = 160
"""An answer is a few sentences: a cap keeps a rambling model from costing minutes."""


class ExecutorActor(GreenroomActor):
    name = "executor"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps
        self._states: dict[str, TaskState] = {}
        self._in_flight: dict[str, dict[str, str]] = {}
        """Task id -> command key -> the actor it went to."""
        self._crashes: dict[tuple[str, str], int] = {}
        self._deadlines: dict[str, float] = {}
        self._timer: threading.Timer | None = None
        self._timer_at = 0.0
        self._sub: Subscription | None = None
        self._parked = False
        self._traits: tuple[tuple[ToolSpec, ...], dict[str, ToolTraits]] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def on_start(self) -> None:
        ref = self.actor_ref
        self._sub = self.deps.bus.subscribe(self.name, on_ready=lambda: ref.tell(Wake()))
        # A restarted Executor picks up the tasks started in this daemon's life (the others
        # are resumed by the Scheduler, each with a new ``task.started``).
        upto = self._sub.next_seq - 1
        for view in self.deps.tasks.open_tasks():
            if view.status in ("pending", "parked"):
                continue
            history = read_envelopes(self.deps.bus.journal, 1, upto, task_id=view.task_id)
            if any(isinstance(e.event, TaskStarted) and e.seq > self.deps.life_seq for e in history):
                self._states[view.task_id] = fold(view.task_id, history)
        for task_id in list(self._states):
            self._advance(task_id)

    def on_stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._timer is not None:
            self._timer.cancel()

    def handle(self, message: ExecutorMessage) -> Any:
        match message:
            case Wake():
                self._drain()
            case Tick():
                self._timer = None
                for task_id in list(self._deadlines):
                    self._advance(task_id)
            case CancelTask():
                return self._cancel(message)
            case ParkAll(reason=reason):
                return self._park(reason)
            case _:
                assert_never(message)
        return None

    # -- events in -------------------------------------------------------------------------

    def _drain(self) -> None:
        assert self._sub is not None
        dirty: set[str] = set()
        for rec in self._sub.drain():
            env = rec.envelope
            task_id = env.task_id
            match env.event:
                case ActorCrashed():
                    self._actor_crashed(env)
                case ActorRestarted(actor=actor):
                    dirty.update(t for t, keys in self._in_flight.items() if actor in keys.values())
                    for keys in self._in_flight.values():
                        for key in [k for k, target in keys.items() if target == actor]:
                            del keys[key]
                    dirty.update(self._states)
                case TaskStarted() if task_id is not None and task_id not in self._states:
                    history = read_envelopes(self.deps.bus.journal, 1, env.seq, task_id=task_id)
                    self._states[task_id] = fold(task_id, history)
                    dirty.add(task_id)
                case _ if task_id in self._states and changes_state(env):
                    self._states[task_id] = evolve(self._states[task_id], env)
                    dirty.add(task_id)
                case _ if task_id in self._states:
                    self._states[task_id] = evolve(self._states[task_id], env)
        for task_id in dirty:
            self._advance(task_id)

    def _actor_crashed(self, env: Envelope) -> None:
        assert isinstance(env.event, ActorCrashed)
        ev = env.event
        for keys in self._in_flight.values():  # whatever that instance held is lost: send it again
            for key in [k for k, target in keys.items() if target == ev.actor]:
                del keys[key]
        task_id = env.task_id
        if task_id is None or task_id not in self._states or not ev.request:
            return
        n = self._crashes[(task_id, ev.request)] = self._crashes.get((task_id, ev.request), 0) + 1
        if n >= self.deps.agent.actor_max_crashes:
            error = f"the {ev.actor} actor crashed {n} times while handling {ev.request}: {ev.error}"
            self._publish(task_id, TaskFailed(error=error, code="actor_crashed"), durable=True)
            self._forget(task_id)

    # -- deciding --------------------------------------------------------------------------

    def _context(self) -> Context:
        specs = tuple(self.deps.tools)
        if self._traits is None or self._traits[0] != specs:  # tools change with plugins and MCP servers
            self._traits = (specs, {t.name: _traits(t) for t in specs})
        return Context(agent=self.deps.agent, tools=self._traits[1], now=self.deps.clock())

    def _advance(self, task_id: str) -> None:
        state = self._states.get(task_id)
        if state is None or self._parked:
            return
        if state.ended:
            self._forget(task_id, finished=state.ended in TERMINAL)
            return
        commands = decide(state, self._context())
        in_flight = self._in_flight.setdefault(task_id, {})
        wanted = {cmd.key for cmd in commands}
        for key in [k for k in in_flight if k not in wanted]:
            del in_flight[key]  # done: decide no longer asks for it
        self._deadlines.pop(task_id, None)
        for cmd in commands:
            if isinstance(cmd, c.WakeAt):
                self._deadlines[task_id] = cmd.at
            elif cmd.key not in in_flight and self._carry_out(state, cmd):
                in_flight[cmd.key] = cmd.target
        self._arm_timer()

    def _carry_out(self, state: TaskState, cmd: c.Command) -> bool:
        """Do ``cmd``; False when it could not be sent (its actor is restarting: it is sent again later)."""
        task_id = state.task_id
        match cmd:
            case c.StartStep(step=n, intent=intent):
                self._publish(task_id, StepStarted(step=n, intent=intent))
            case c.PublishCalls(calls=calls):
                for call in calls:
                    self._publish(task_id, call)
            case c.RecordResult(result=result):
                self._publish(task_id, result)
            case c.FinishStep(step=n, result=result, ok=ok):
                self._publish(task_id, StepFinished(step=n, result=result, ok=ok))
            case c.ReachCap(step=n, rounds=rounds, calls=calls):
                self._publish(task_id, StepCapReached(step=n, rounds=rounds, calls=calls))
            case c.Judge(step=n, verdict=verdict, reason=reason, rule=rule):
                judged = CriticVerdict(step=n, verdict=verdict, reason=reason, rule=rule)  # type: ignore[arg-type]
                self._publish(task_id, judged)
            case c.Ask(question=question):
                self._publish(task_id, question, durable=True)
            case c.TimeOut(answer=answer):
                self._publish(task_id, answer, durable=True)
            case c.FinishTask(answer=answer, remember=remember):
                answer, cited = grounding.finished(self.deps, task_id, answer)  # names the memories it used
                self._publish(task_id, TaskFinished(answer=answer, cited=cited), durable=True)
                if remember is None:
                    remember = self.deps.agent.remember_tasks == "on"
                grounding.after_finish(self.deps, task_id, state.goal, answer, remember=remember)
            case c.FailTask(code=code, error=error):
                self._publish(task_id, TaskFailed(error=error, code=code), durable=True)
            case c.RequestPlan(revision=r, feedback=feedback):
                plan = PlanTask(
                    task_id=task_id, key=cmd.key, causation=state.last_seq,
                    goal=state.goal, revision=r, feedback=feedback,
                )  # fmt: skip
                return self._handles.planner.tell(plan, wait=0)
            case c.RequestVerdict(step=n, intent=intent, result=result, evidence=evidence):
                judge = JudgeStep(
                    task_id=task_id, key=cmd.key, causation=state.last_seq,
                    goal=state.goal, step=n, intent=intent, result=result, evidence=evidence,
                )  # fmt: skip
                return self._handles.critic.tell(judge, wait=0)
            case c.RequestAction() | c.RequestAnswer():
                generate = Generate(
                    task_id=task_id, key=cmd.key, causation=state.last_seq, request=self._request(state, cmd)
                )  # fmt: skip
                return self._handles.llm.tell(generate, wait=0)
            case c.RequestDecision(call=call, flagged=flagged):
                decide_call = DecideCall(
                    task_id=task_id, key=cmd.key, causation=state.last_seq,
                    call_id=call.call_id, tool=call.tool, args=call.args, flagged=flagged,
                )  # fmt: skip
                return self._handles.policy.tell(decide_call, wait=0)
            case c.RunTool(call=call, approved_paths=paths, repeated_of=repeated_of):
                self.deps.runner.submit(call, paths, repeated_of, state.last_seq)
            case c.WakeAt():
                pass
            case _:
                assert_never(cmd)
        return True

    def _request(self, state: TaskState, cmd: c.RequestAction | c.RequestAnswer) -> GenerationRequest:
        deps, cfg = self.deps, self.deps.llm
        messages: list[Message]
        schema = None
        context = grounding.task_context(deps, state.task_id, state.goal)  # conversation, images, memories
        if isinstance(cmd, c.RequestAnswer):
            messages = answer_messages(state.goal, done_text(cmd.done), deps.tools, context)
            cap = ANSWER_TOKENS
        else:
            messages = action_messages(
                state.goal, cmd.intent, deps.tools, done_text(cmd.done), list(cmd.observations),
                must_call=cmd.must_call, note=cmd.note, context=context,
            )  # fmt: skip
            named = [deps.tools.get(t) for t in cmd.must_call if t in deps.tools]
            schema = deps.tools.call_schema(deps.agent.max_calls_per_round, named or None, allow_finish=not named)
            previous = cmd.done[-1][1] if cmd.done else ""
            # What the step's words already say is not asked again (when it must call named tools);
            # free strings always fit the output budget.
            schema = pin_call_schema(
                schema, cmd.intent, max_calls=len(named) or None, previous=previous, pin=bool(named)
            )
            cap = cfg.max_tokens
        return GenerationRequest(
            messages=messages,
            purpose=cmd.key,
            schema=schema,
            max_tokens=min(cfg.max_tokens, cap),
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            repetition_penalty=ACTION_REPETITION_PENALTY if schema is not None else 1.0,
        )

    @property
    def _handles(self):  # type: ignore[no-untyped-def]
        assert self.deps.handles is not None
        return self.deps.handles

    def _publish(self, task_id: str, event: Event, *, durable: bool = False) -> Envelope:
        state = self._states.get(task_id)
        return self.deps.bus.publish(
            event,
            source=self.name,
            task_id=task_id,
            causation_id=state.last_seq if state is not None else None,
            correlation_id=task_id,
            durable=durable,
        )

    def _forget(self, task_id: str, *, finished: bool = True) -> None:
        self._states.pop(task_id, None)
        self._in_flight.pop(task_id, None)
        self._deadlines.pop(task_id, None)
        for key in [k for k in self._crashes if k[0] == task_id]:
            del self._crashes[key]
        if finished:
            self.deps.runner.forget_task(task_id)
            self.deps.cancellations.discard(task_id)

    # -- timer -----------------------------------------------------------------------------

    def _arm_timer(self) -> None:
        """One timer for the earliest question deadline (none while nothing has one)."""
        at = min(self._deadlines.values(), default=None)
        if at is None or (self._timer is not None and self._timer_at <= at):
            return
        if self._timer is not None:
            self._timer.cancel()
        ref = self.actor_ref
        self._timer = threading.Timer(max(0.0, at - self.deps.clock()) + 0.01, lambda: ref.tell(Tick()))
        self._timer.daemon = True
        self._timer_at = at
        self._timer.start()

    # -- requests --------------------------------------------------------------------------

    def _cancel(self, message: CancelTask) -> int:
        task_id = message.task_id or ""
        view = self.deps.tasks.get(task_id)
        if view is None:
            raise CallFailed("not_found", f"no task {task_id!r}")
        if view.status in TERMINAL_STATUSES:
            raise CallFailed("conflict", f"task {task_id} already {view.status}")
        self.deps.cancellations.cancel(task_id)
        env = self._publish(task_id, TaskCancelled(reason=message.reason), durable=True)
        self._forget(task_id)
        return env.seq

    def _park(self, reason: str) -> int:
        """Stop deciding; every task in progress gets a durable ``task.parked``."""
        self._parked = True
        self.deps.cancellations.stop_all()
        parked = 0
        for task_id, state in list(self._states.items()):
            if not state.ended:
                self._publish(task_id, TaskParked(reason=reason), durable=True)
                parked += 1
            self._forget(task_id, finished=False)
        return parked


def _traits(tool: ToolSpec) -> ToolTraits:
    """What the decider needs to know of ``tool``."""
    schema = tool.schema()
    return ToolTraits(tool.side_effects, tool.is_idempotent, bool(schema.get("properties")), tool.memorable, schema)


__all__ = ["ExecutorActor"]
