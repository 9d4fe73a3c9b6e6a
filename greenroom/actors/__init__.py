"""The seven actors and the agent loop they run.

Planner, Executor, Critic, Scheduler, LLM, Memory and Policy are pykka thread
actors exchanging typed messages (``messages``) and journaled events; the
runtime builds them from ``ActorDeps`` and supervises them. The agent loop is a
decider: ``task_state.evolve`` folds a task's events, ``decide.decide`` says
what happens next, the Executor carries it out.

Names load lazily (``greenroom._lazy``): the config reads ``actors.settings``
without importing the actors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
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
    from greenroom.actors.decide import confirmation_id, decide
    from greenroom.actors.decide_context import Context, ToolTraits
    from greenroom.actors.deps import ActorDeps, Handles
    from greenroom.actors.executor import ExecutorActor
    from greenroom.actors.llm import LlmActor
    from greenroom.actors.memory import MemoryActor
    from greenroom.actors.planner import PlannerActor
    from greenroom.actors.policy import PolicyActor
    from greenroom.actors.roster import ACTOR_CLASSES
    from greenroom.actors.scheduler import SchedulerActor
    from greenroom.actors.settings import AgentConfig
    from greenroom.actors.task_index import TaskIndex
    from greenroom.actors.task_state import TaskState, evolve, fold
    from greenroom.actors.tool_runner import ToolRunner

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ACTOR_CLASSES": "roster",
        **dict.fromkeys(
            (
                "ActorCrashedError",
                "ActorError",
                "ActorHandle",
                "ActorUnavailableError",
                "CallFailed",
                "CrashReporter",
                "GreenroomActor",
                "Interrupted",
            ),
            "base",
        ),
        "Cancellations": "cancellations",
        "CriticActor": "critic",
        **dict.fromkeys(("confirmation_id", "decide"), "decide"),
        **dict.fromkeys(("Context", "ToolTraits"), "decide_context"),
        **dict.fromkeys(("ActorDeps", "Handles"), "deps"),
        "ExecutorActor": "executor",
        "LlmActor": "llm",
        "MemoryActor": "memory",
        "PlannerActor": "planner",
        "PolicyActor": "policy",
        "SchedulerActor": "scheduler",
        "AgentConfig": "settings",
        "TaskIndex": "task_index",
        **dict.fromkeys(("TaskState", "evolve", "fold"), "task_state"),
        "ToolRunner": "tool_runner",
    },
)
