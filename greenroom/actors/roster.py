"""The seven actors, in start order."""

from __future__ import annotations

from greenroom.actors.base import GreenroomActor
from greenroom.actors.critic import CriticActor
from greenroom.actors.executor import ExecutorActor
from greenroom.actors.llm import LlmActor
from greenroom.actors.memory import MemoryActor
from greenroom.actors.planner import PlannerActor
from greenroom.actors.policy import PolicyActor
from greenroom.actors.scheduler import SchedulerActor

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

__all__ = ["ACTOR_CLASSES"]
