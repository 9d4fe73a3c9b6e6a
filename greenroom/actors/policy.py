"""The Policy actor: allow / ask / deny for every tool call, journaled with its rule and risk."""

from __future__ import annotations

from typing import Any

from greenroom.actors.base import CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import ToolDecided
from greenroom.policy import PolicyDecision, Scope
from greenroom.tools.spec import UnknownToolError


class PolicyActor(GreenroomActor):
    name = "policy"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps

    def evaluate(self, tool: str, args: dict[str, Any], flagged: bool = False) -> PolicyDecision:
        """The decision for a call, without journaling it (``greenroom policy test``)."""
        try:
            facts = self.deps.tools.get(tool).facts()
        except UnknownToolError:
            facts = None
        return self.deps.policy_engine.decide(tool, facts, args, flagged=flagged)

    def decide(
        self,
        task_id: str,
        call_id: str,
        tool: str,
        args: dict[str, Any],
        *,
        flagged: bool = False,
        causation: int | None,
    ) -> Envelope:
        """Decide on one call and publish ``tool.decided``."""
        d = self.evaluate(tool, args, flagged)
        return self.deps.bus.publish(
            ToolDecided(
                call_id=call_id,
                tool=tool,
                decision=d.decision,
                rule=d.rule,
                reason=d.reason,
                risk=d.risk,
                resolved=d.resolved,
            ),
            source=self.name,
            task_id=task_id,
            causation_id=causation,
            correlation_id=task_id,
        )

    def remember(self, tool: str, args: dict[str, Any], approved: bool, scope: Scope = "tool") -> str:
        """Persist a person's decision, scoped as they chose; returns the new rule's id."""
        return self.deps.policy_engine.remember(tool, args, approved, scope).id
