"""The seven actors and the agent loop they run.

Planner, Executor, Critic, Scheduler, LLM, Memory and Policy are pykka thread
actors; the runtime builds them from ``ActorDeps`` and supervises them.
"""

from __future__ import annotations

from greenroom.actors.base import (
    WAKE,
    ActorCrashedError,
    ActorError,
    ActorHandle,
    ActorUnavailableError,
    Call,
    CallFailed,
    CrashReporter,
    GreenroomActor,
    Interrupted,
)
from greenroom.actors.critic import CriticActor
from greenroom.actors.deps import ActorDeps, Handles
from greenroom.actors.executor import ExecutorActor
from greenroom.actors.llm import LlmActor
from greenroom.actors.memory import MemoryActor
from greenroom.actors.planner import PlannerActor
from greenroom.actors.policy import PolicyActor
from greenroom.actors.runs import RunRegistry
from greenroom.actors.scheduler import SchedulerActor
from greenroom.actors.settings import AgentConfig
from greenroom.actors.task_index import TaskIndex
from greenroom.actors.workflow import TaskFailure, TaskRun, confirmation_id

ACTOR_CLASSES: tuple[type[GreenroomActor], ...] = (
    MemoryActor,
    PolicyActor,
    LlmActor,
    PlannerActor,
    CriticActor,
    ExecutorActor,
    SchedulerActor,
)
"""In start order: each actor's callees start before it."""

__all__ = [
    "ACTOR_CLASSES",
    "WAKE",
    "ActorCrashedError",
    "ActorDeps",
    "ActorError",
    "ActorHandle",
    "ActorUnavailableError",
    "AgentConfig",
    "Call",
    "CallFailed",
    "CrashReporter",
    "CriticActor",
    "ExecutorActor",
    "GreenroomActor",
    "Handles",
    "Interrupted",
    "LlmActor",
    "MemoryActor",
    "PlannerActor",
    "PolicyActor",
    "RunRegistry",
    "SchedulerActor",
    "TaskFailure",
    "TaskIndex",
    "TaskRun",
    "confirmation_id",
]
