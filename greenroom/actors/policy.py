"""The Policy actor: allow / ask / deny for every tool call, journaled with its rule."""

from __future__ import annotations

from typing import Any

from greenroom.actors.base import CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import ToolDecided
from greenroom.tools.spec import UnknownToolError


class PolicyActor(GreenroomActor):
    name = "policy"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps

    def decide(self, task_id: str, call_id: str, tool: str, args: dict[str, Any], *, causation: int | None) -> Envelope:
        """Decide on one call and publish ``tool.decided``."""
        try:
            side_effects = self.deps.tools.get(tool).side_effects
        except UnknownToolError:
            side_effects = None
        d = self.deps.policy_engine.decide(tool, side_effects, args)
        return self.deps.bus.publish(
            ToolDecided(call_id=call_id, tool=tool, decision=d.decision, rule=d.rule, reason=d.reason),
            source=self.name,
            task_id=task_id,
            causation_id=causation,
            correlation_id=task_id,
        )

    def remember(self, tool: str, approved: bool) -> None:
        """Persist a person's decision for ``tool``."""
        self.deps.policy_engine.remember(tool, approved)
