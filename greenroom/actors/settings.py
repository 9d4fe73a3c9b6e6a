"""Agent-loop settings (part of the daemon's config)."""

from __future__ import annotations

from typing import Literal

import msgspec


class AgentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    max_rounds: int = 4
    """Tool rounds per step before the person is asked whether to extend."""
    max_calls_per_round: int = 4
    max_steps: int = 6
    """Most steps in one plan, and most steps a task runs in all (replans included)."""
    max_replans: int = 1
    max_concurrent_tasks: int = 2
    confirmation_timeout_s: float = 0.0
    """0 waits for an answer forever (across restarts); otherwise the call is declined after it."""
    actor_max_crashes: int = 3
    """Crashes of an actor while serving one request of a task before the task fails."""
    match_tools: bool = True
    """Tell which tools a goal needs by matching it against the tools' example requests with the
    embedding model (no model call); a goal that needs tools gets one step per clause, each with its
    tool. Small models cannot make this choice; it is off for models that can (``route`` then)."""
    tool_match: float = 0.42
    """The cosine similarity a tool's description or example must reach for a goal to need it."""
    route: bool = True
    """The first model call answers the goal directly when no tool is needed, else plans."""
    critic: Literal["auto", "always", "never"] = "auto"
    """``auto``: the Critic judges steps that ran tools with side effects (a step whose result
    claims an action no tool performed is never accepted, whatever this says)."""
    forced_tools: bool = True
    """A step whose plan names tools must call one before it may finish."""
    pass_through: bool = True
    """When a step's named tools all ran, their output is the step's result (no paraphrase),
    and a one-step task's result is its answer (no separate answer call)."""
    tool_workers: int = 4
    """Tool calls that may run at once, across all tasks (a bounded pool)."""
    park_grace_s: float = 5.0
    """When the daemon stops, how long running tool calls get to finish and journal their results."""
