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
    remember_tasks: Literal["on", "off", "ask"] = "on"
    """After a task finishes, keep a short summary of it (goal and answer) in memory as a ``task`` item:
    ``on``, ``off``, or ``ask`` the person first."""
    memory_hits: int = 3
    """Memories put in each task's prompts (searched for the goal and the conversation); 0 searches none."""
    memory_min_similarity: float = 0.3
    """A memory is used only if its embedding's cosine similarity to the query reaches this (or, when
    reranked, its rerank score reaches 0.5)."""
    task_memory_min_similarity: float = 0.55
    """The same for earlier tasks' summaries. They all look alike ("Task: What is ...? Answer: ..."): with
    the default MiniLM, a look-alike ("capital of France" for "capital of Japan") scores 0.32-0.49 and a
    small model copies its answer, while a task the goal really asks back for scores 0.64-0.82."""
    history_tokens: int = 1024
    """At most this many prompt tokens of a chat's earlier turns (less where the model's context window
    is smaller); older turns are summarised by the model."""

    def __post_init__(self) -> None:
        if not 0 <= self.memory_hits <= 20:
            raise ValueError(f"agent.memory_hits must be 0..20, got {self.memory_hits}")
        for name in ("memory_min_similarity", "task_memory_min_similarity"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"agent.{name} must be 0..1 (a cosine similarity), got {getattr(self, name)}")
        if self.history_tokens < 0:
            raise ValueError(f"agent.history_tokens must not be negative, got {self.history_tokens}")
