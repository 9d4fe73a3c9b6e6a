"""The seven actors and the agent loop they run.

Planner, Executor, Critic, Scheduler, LLM, Memory and Policy are pykka thread
actors exchanging typed messages (``messages``) and journaled events; the
runtime builds them from ``ActorDeps`` and supervises them. The agent loop is a
decider: ``task_state.evolve`` folds a task's events, ``decide.decide`` says
what happens next, the Executor carries it out.
"""

from __future__ import annotations

from greenroom.actors.base import (
    ActorCrashedError,
    ActorError,
    ActorHandle,
    ActorUnavailableError,
    CallFailed,
    CrashReporter,
    GreenroomActor,
    Interrupted,
)
from greenroom.actors.cancellations import Cancellations
from greenroom.actors.critic import CriticActor
from greenroom.actors.decide import Context, ToolTraits, confirmation_id, decide
from greenroom.actors.deps import ActorDeps, Handles
from greenroom.actors.executor import ExecutorActor
from greenroom.actors.llm import LlmActor
from greenroom.actors.memory import MemoryActor
from greenroom.actors.planner import PlannerActor
from greenroom.actors.policy import PolicyActor
from greenroom.actors.scheduler import SchedulerActor
from greenroom.actors.settings import AgentConfig
from greenroom.actors.task_index import TaskIndex
from greenroom.actors.task_state import TaskState, evolve, fold
from greenroom.actors.tool_runner import ToolRunner

ACTOR_CLASSES: tuple[type[GreenroomActor], ...] = (
    MemoryActor,
    PolicyActor,
    LlmActor,
    PlannerActor,
    CriticActor,
    ExecutorActor,
    SchedulerActor,
)
"""In start order: each actor's recipients start before it."""

__all__ = [
    "ACTOR_CLASSES",
    "ActorCrashedError",
    "ActorDeps",
    "ActorError",
    "ActorHandle",
    "ActorUnavailableError",
    "AgentConfig",
    "CallFailed",
    "Cancellations",
    "Context",
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
    "SchedulerActor",
    "TaskIndex",
    "TaskState",
    "ToolRunner",
    "ToolTraits",
    "confirmation_id",
    "decide",
    "evolve",
    "fold",
]
