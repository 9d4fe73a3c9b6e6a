"""What ``decide`` is given besides a task's state: the agent's settings, the tools' traits, the time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from greenroom.actors.settings import AgentConfig


@dataclass(frozen=True)
class ToolTraits:
    """What the loop needs to know about a tool."""

    side_effects: str = "none"
    idempotent: bool = True
    """Running it twice with the same arguments has the effect of running it once."""
    takes_args: bool = True
    """False for a tool without arguments: when a step must call it, no model call is needed."""
    memorable: bool = True
    """False: a task that called only tools like this leaves no summary in memory (``ToolSpec.memorable``)."""
    schema: Mapping[str, Any] | None = field(default=None, compare=False)
    """Its arguments' JSON Schema: when the step's words fix every argument (``arguments.fixed_args``),
    the call is made without asking the model too."""


@dataclass(frozen=True)
class Context:
    """The inputs of ``decide`` besides the state."""

    agent: AgentConfig = field(default_factory=AgentConfig)
    tools: Mapping[str, ToolTraits] = field(default_factory=dict)
    now: float = 0.0


__all__ = ["Context", "ToolTraits"]
