"""What the actors are built from: passed in by the runtime, never global."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from greenroom.actors.base import ActorHandle
from greenroom.actors.cancellations import Cancellations
from greenroom.actors.settings import AgentConfig
from greenroom.actors.task_index import TaskIndex
from greenroom.bus.bus import Bus
from greenroom.models.settings import LlmConfig
from greenroom.tools.registry import ToolRegistry
from greenroom.tools.settings import ToolsConfig

if TYPE_CHECKING:
    from greenroom.actors.chat_index import ChatIndex
    from greenroom.actors.tool_runner import ToolRunner
    from greenroom.memory.engine import MemoryEngine
    from greenroom.models.backend import Backend
    from greenroom.models.params import ParamsStore
    from greenroom.policy.engine import PolicyEngine
    from greenroom.schedules import ScheduleConfig, ScheduleIndex
    from greenroom.tools.routing import ToolRouter


@dataclass(frozen=True)
class Handles:
    """How actors reach each other."""

    planner: ActorHandle
    executor: ActorHandle
    critic: ActorHandle
    scheduler: ActorHandle
    llm: ActorHandle
    memory: ActorHandle
    policy: ActorHandle


@dataclass
class ActorDeps:
    """Everything the seven actors share."""

    bus: Bus
    tasks: TaskIndex
    tools: ToolRegistry
    agent: AgentConfig
    llm: LlmConfig
    tools_config: ToolsConfig
    make_backend: Callable[..., Backend]
    """``make_backend()`` for the configured model, ``make_backend(model)`` for another."""
    memory: MemoryEngine
    policy_engine: PolicyEngine
    cancellations: Cancellations = field(default_factory=Cancellations)
    """Stop flags of work in progress, by task (or a client's request key)."""
    handles: Handles | None = None
    model_params: ParamsStore | None = None
    model_status: dict[str, object] = field(default_factory=dict)
    """Written by the LLM actor, read by status requests without waiting on a busy model."""
    clock: Callable[[], float] = field(default=time.time)
    schedules: ScheduleIndex | None = None
    """Recurring schedules (the Scheduler fires them); None runs no schedules."""
    schedule_config: ScheduleConfig | None = None
    life_seq: int = 0
    """The seq of this daemon's ``daemon.started``: tasks started after it run in this process."""
    tool_runner: ToolRunner | None = None
    router: ToolRouter | None = None
    """Tells which tools a goal needs without a model call (``agent.match_tools``)."""
    chats: ChatIndex | None = None
    """Chats (a chat task's prompts show its conversation); None: no chats."""

    @property
    def runner(self) -> ToolRunner:
        assert self.tool_runner is not None, "the runtime sets the tool runner before starting actors"
        return self.tool_runner
