"""What ``decide`` asks for: the agent loop's commands, carried out by the Executor.

Each command has a ``key`` naming it within its task; the Executor does not
repeat a command while one with the same key is in flight, and one is in
flight until ``decide`` stops asking for it (its outcome has been folded in).

Commands are frozen msgspec Structs, not dataclasses: they never leave the
process, but a dataclass costs ~0.4 ms to create (it compiles its methods) and
the daemon imports these at start.
"""

from __future__ import annotations

from typing import Literal, Union

import msgspec

from greenroom.bus.events import ConfirmationAnswered, ConfirmationAsked, PlanStep, ToolRequested, ToolResult

Target = Literal["executor", "planner", "critic", "llm", "policy", "tools", "timer"]


# -- events the Executor publishes itself ----------------------------------------------


class StartStep(msgspec.Struct, frozen=True):
    step: int
    intent: str
    target: Target = "executor"

    @property
    def key(self) -> str:
        return f"start:{self.step}"


class PublishCalls(msgspec.Struct, frozen=True):
    """The tool calls a round's model output asked for (those not journaled yet)."""

    step: int
    round: int
    calls: tuple[ToolRequested, ...]
    target: Target = "executor"

    @property
    def key(self) -> str:
        return f"calls:{self.step}:{self.round}"


class RecordResult(msgspec.Struct, frozen=True):
    """A call's outcome without running it: denied, declined, a repeat, or not run again."""

    result: ToolResult
    target: Target = "executor"

    @property
    def key(self) -> str:
        return f"result:{self.result.call_id}"


class FinishStep(msgspec.Struct, frozen=True):
    step: int
    result: str
    ok: bool = True
    target: Target = "executor"

    @property
    def key(self) -> str:
        return f"finish:{self.step}"


class ReachCap(msgspec.Struct, frozen=True):
    step: int
    rounds: int
    calls: int
    target: Target = "executor"

    @property
    def key(self) -> str:
        return f"cap:{self.step}:{self.rounds}"


class Judge(msgspec.Struct, frozen=True):
    """A verdict the loop reaches without the Critic (a rule), journaled as ``critic.verdict``."""

    step: int
    verdict: str
    reason: str
    rule: str
    target: Target = "executor"

    @property
    def key(self) -> str:
        return f"judge:{self.step}"


class Ask(msgspec.Struct, frozen=True):
    """Put a question to the person (durable before anyone can answer it)."""

    question: ConfirmationAsked
    target: Target = "executor"

    @property
    def key(self) -> str:
        return f"ask:{self.question.confirmation_id}"


class TimeOut(msgspec.Struct, frozen=True):
    """Nobody answered in time: the answer is no."""

    answer: ConfirmationAnswered
    target: Target = "executor"

    @property
    def key(self) -> str:
        return f"timeout:{self.answer.confirmation_id}"


class FinishTask(msgspec.Struct, frozen=True):
    answer: str
    target: Target = "executor"
    key: str = "finish"
    remember: bool | None = None
    """Keep a summary of the task in memory: None as ``agent.remember_tasks`` says (on/off), else the
    person's answer (``ask``)."""


class FailTask(msgspec.Struct, frozen=True):
    code: str
    error: str
    target: Target = "executor"
    key: str = "fail"


# -- requests to other actors (their outcome comes back as events) ---------------------


class RequestPlan(msgspec.Struct, frozen=True):
    revision: int
    feedback: str = ""
    target: Target = "planner"

    @property
    def key(self) -> str:
        return f"plan:{self.revision}"


class RequestVerdict(msgspec.Struct, frozen=True):
    step: int
    intent: str
    result: str
    evidence: str = ""
    target: Target = "critic"

    @property
    def key(self) -> str:
        return f"verdict:{self.step}"


class RequestAction(msgspec.Struct, frozen=True):
    """The model's next move in a step: tool calls, or the step's result."""

    step: int
    round: int
    intent: str
    done: tuple[tuple[str, str], ...] = ()
    """Earlier steps: (intent, result)."""
    observations: tuple[str, ...] = ()
    must_call: tuple[str, ...] = ()
    """The step's plan named these tools and none has run: the model may only call them."""
    note: str = ""
    """Why the step is tried again (the previous attempt's verdict), for the model to read."""
    target: Target = "llm"

    @property
    def key(self) -> str:
        return f"step:{self.step}:round:{self.round}"


class RequestAnswer(msgspec.Struct, frozen=True):
    done: tuple[tuple[str, str], ...]
    target: Target = "llm"
    key: str = "answer"


class RequestDecision(msgspec.Struct, frozen=True):
    call: ToolRequested
    flagged: bool = False
    target: Target = "policy"

    @property
    def key(self) -> str:
        return f"decide:{self.call.call_id}"


class RunTool(msgspec.Struct, frozen=True):
    call: ToolRequested
    approved_paths: dict[str, str] = msgspec.field(default_factory=dict)
    repeated_of: str = ""
    target: Target = "tools"

    @property
    def key(self) -> str:
        return f"run:{self.call.call_id}"


class WakeAt(msgspec.Struct, frozen=True):
    """Nothing to do until ``at`` (a question's deadline): decide again then."""

    at: float
    target: Target = "timer"

    @property
    def key(self) -> str:
        return f"wake:{self.at}"


Command = Union[
    StartStep,
    PublishCalls,
    RecordResult,
    FinishStep,
    ReachCap,
    Judge,
    Ask,
    TimeOut,
    FinishTask,
    FailTask,
    RequestPlan,
    RequestVerdict,
    RequestAction,
    RequestAnswer,
    RequestDecision,
    RunTool,
    WakeAt,
]

__all__ = [
    "Ask",
    "Command",
    "FailTask",
    "FinishStep",
    "FinishTask",
    "Judge",
    "PlanStep",
    "PublishCalls",
    "ReachCap",
    "RecordResult",
    "RequestAction",
    "RequestAnswer",
    "RequestDecision",
    "RequestPlan",
    "RequestVerdict",
    "RunTool",
    "StartStep",
    "Target",
    "TimeOut",
    "WakeAt",
]
