"""The messages actors accept: one frozen, tagged msgspec Struct each, a union per actor.

Two kinds, as in the house style:

- a ``Command`` is told (fire and forget). What it produces others act on
  arrives as journaled events (a plan, a verdict, a policy decision, a tool
  result, model output); an expected failure becomes an event too
  (``request.failed``), never an exception.
- a ``Query[R]`` is asked and answers an ``R`` (status, searches, a generation
  for a client); an expected failure raises ``CallFailed`` in the caller.

Each actor dispatches its union with ``match`` ending in ``assert_never``, so
mypy checks both who sends what and that every message is handled. Messages
that concern a task carry its id and ``key`` (the command's name in the
agent loop) so a crash while handling one is charged to that task and key.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar, Union

import msgspec

from greenroom.bus.envelope import Envelope
from greenroom.bus.events import PlanStep
from greenroom.bus.memory_records import ForgetReport, MemoryStats, SearchResult
from greenroom.bus.protocol import WatchView
from greenroom.memory import Filters
from greenroom.models.backend import GenerationRequest
from greenroom.policy import PolicyDecision

R = TypeVar("R")


class Command(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Told; its outcome is events."""

    task_id: str | None = None
    key: str = ""
    """The agent loop's name for this request (``plan:0``, ``verdict:2``, ``step:1:round:1``)."""


class Query(msgspec.Struct, Generic[R], frozen=True, kw_only=True, tag=True):
    """Asked; answers an ``R``."""

    task_id: str | None = None
    key: str = ""


# -- every actor -----------------------------------------------------------------------


class Wake(Command, frozen=True):
    """The actor's bus subscription has events to drain."""


class Tick(Command, frozen=True):
    """A timer the actor set is due."""


# -- Planner and Critic ----------------------------------------------------------------


class PlanTask(Command, frozen=True):
    """Publish ``task.planned`` for revision ``revision`` (or ``request.failed``)."""

    goal: str
    revision: int
    feedback: str = ""
    causation: int | None = None
    context: str = ""
    """What the plan may build on (the conversation, memories): put in the prompt as is."""


class JudgeStep(Command, frozen=True):
    """Publish ``critic.verdict`` for step ``step`` (or ``request.failed``)."""

    goal: str
    step: int
    intent: str
    result: str
    evidence: str = ""
    """What the step actually did (its tool calls and results), to hold the result against."""
    causation: int | None = None


PlannerMessage = PlanTask
CriticMessage = JudgeStep


# -- LLM -------------------------------------------------------------------------------


class Generate(Command, frozen=True):
    """Generate for a task: tokens stream as ``llm.chunk``, the text arrives as ``llm.finished``."""

    request: GenerationRequest
    causation: int | None = None


class GenerateNow(Query[Envelope], frozen=True):
    """Generate and answer with the committed ``llm.finished`` envelope (its event has the text)."""

    request: GenerationRequest
    causation: int | None = None
    stop_key: str = ""
    """Cancellation key (default: the task id); a client's generation uses its own."""
    request_id: str = ""
    """The ``request_id`` of its ``llm.*`` events (default ``<task or ->:<purpose>``)."""


class LoadModel(Query[str], frozen=True):
    """Load ``model`` (default: the configured one) now and make it active; answers its name."""

    model: str | None = None


class UnloadModel(Query[bool], frozen=True):
    model: str | None = None


class CheckIdle(Command, frozen=True):
    """Unload models that sat unused for their keep-alive."""


LlmMessage = Union[Generate, GenerateNow, LoadModel, UnloadModel, CheckIdle, Tick]


# -- Policy ----------------------------------------------------------------------------


class DecideCall(Command, frozen=True):
    """Publish ``tool.decided`` for one call."""

    call_id: str
    tool: str
    args: dict[str, Any]
    flagged: bool = False
    causation: int | None = None


class EvaluateCall(Query[PolicyDecision], frozen=True):
    """What the policy would decide, journaling nothing (``greenroom policy test``)."""

    tool: str
    args: dict[str, Any]
    flagged: bool = False


PolicyMessage = Union[DecideCall, EvaluateCall]


# -- Memory ----------------------------------------------------------------------------


class Remember(Query[str], frozen=True):
    """Store text (once per ``dedupe_key`` and once per content); answers the item id."""

    text: str
    tags: list[str] = []
    dedupe_key: str | None = None
    source: str = "note"


class Store(Command, frozen=True):
    """Store text (once per ``dedupe_key`` and once per content); ``memory.stored`` says when it is new."""

    text: str
    tags: list[str] = []
    dedupe_key: str | None = None
    source: str = "note"
    uri: str | None = None


class Search(Query[SearchResult], frozen=True):
    query: str
    k: int = 10
    filters: Filters | None = None
    rerank: bool | None = None


class Recall(Query[list[dict[str, Any]]], frozen=True):
    """Hits for the agent's ``memory.recall``: text, provenance and why each matched."""

    query: str
    limit: int = 5
    tags: list[str] = []


class Forget(Query[ForgetReport], frozen=True):
    item_ids: list[str] = []
    filters: Filters | None = None
    query: str | None = None
    limit: int = 1
    reason: str = ""
    keep: list[str] = []
    """Texts the journal scrub leaves in place: something the person keeps still holds them (a chat's copy)."""


class Stats(Query[MemoryStats], frozen=True):
    pass


class Ingest(Query[str], frozen=True):
    """Start ingesting paths on a thread; answers the run id (progress goes on the bus)."""

    paths: list[str]
    tags: list[str] = []
    run_prefix: str = "i-"


class StartIngest(Command, frozen=True):
    """Ingest paths as run ``run_id`` (told: ``memory.ingest.finished`` with that id says how it went)."""

    paths: list[str]
    run_id: str
    tags: list[str] = []


class Watch(Query[list[WatchView]], frozen=True):
    paths: list[str]
    tags: list[str] = []


class Unwatch(Query[int], frozen=True):
    path: str


class Watches(Query[list[WatchView]], frozen=True):
    pass


class WatchChanged(Command, frozen=True):
    """A debounced batch of changes under watched folders."""

    changes: dict[str, set[str]]


MemoryMessage = Union[
    Remember, Store, Search, Recall, Forget, Stats, Ingest, StartIngest, Watch, Unwatch, Watches, WatchChanged
]


# -- Executor and Scheduler ------------------------------------------------------------


class CancelTask(Query[int], frozen=True):
    """Cancel an open task: answers the seq of its durable ``task.cancelled``."""

    reason: str = ""


class ParkAll(Query[int], frozen=True):
    """The daemon stops: park every task where it is; answers how many were parked."""

    reason: str = "daemon stopping; resumes at the next start"


class ResumeOpen(Query[int], frozen=True):
    """Daemon start: resume every task that had started (``task.started`` resumed); answers how many."""


ExecutorMessage = Union[Wake, Tick, CancelTask, ParkAll]


class ScheduleTick(Command, frozen=True):
    """Recurring schedules may be due."""


class Pending(Query[list[str]], frozen=True):
    """Tasks waiting for a slot or their time."""


SchedulerMessage = Union[Wake, Tick, ScheduleTick, Pending, ResumeOpen]

Kind = Literal["command", "query"]

__all__ = [
    "CancelTask",
    "CheckIdle",
    "Command",
    "CriticMessage",
    "DecideCall",
    "EvaluateCall",
    "ExecutorMessage",
    "Forget",
    "Generate",
    "GenerateNow",
    "Ingest",
    "JudgeStep",
    "LlmMessage",
    "LoadModel",
    "MemoryMessage",
    "ParkAll",
    "Pending",
    "PlanStep",
    "PlanTask",
    "PlannerMessage",
    "PolicyMessage",
    "Query",
    "Recall",
    "Remember",
    "ResumeOpen",
    "ScheduleTick",
    "SchedulerMessage",
    "Search",
    "StartIngest",
    "Stats",
    "Store",
    "Tick",
    "UnloadModel",
    "Unwatch",
    "Wake",
    "Watch",
    "WatchChanged",
    "Watches",
]
