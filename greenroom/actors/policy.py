"""The Policy actor: allow / ask / deny for every tool call, journaled with its rule and risk."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_never

from greenroom.actors.base import CrashReporter, GreenroomActor
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import DecideCall, EvaluateCall, PolicyMessage
from greenroom.bus.events import ToolDecided
from greenroom.policy import PolicyDecision
from greenroom.tools.spec import UnknownToolError


class PolicyActor(GreenroomActor):
    name = "policy"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps

    def handle(self, message: PolicyMessage) -> Any:
        match message:
            case EvaluateCall(tool=tool, args=args, flagged=flagged):
                return self.evaluate(tool, args, flagged)
            case DecideCall():
                self.decide(message)
                return None
            case _:
                assert_never(message)

    def evaluate(self, tool: str, args: dict[str, Any], flagged: bool = False) -> PolicyDecision:
        """The decision for a call, without journaling it."""
        try:
            facts = self.deps.tools.get(tool).facts()
        except UnknownToolError:
            facts = None
        return self.deps.policy_engine.decide(tool, facts, args, flagged=flagged)

    def decide(self, message: DecideCall) -> None:
        """Decide on one call and publish ``tool.decided``."""
        d = self.evaluate(message.tool, message.args, message.flagged)
        self.deps.bus.publish(
            ToolDecided(
                call_id=message.call_id,
                tool=message.tool,
                decision=d.decision,
                rule=d.rule,
                reason=d.reason,
                risk=d.risk,
                resolved=d.resolved,
            ),
            source=self.name,
            task_id=message.task_id,
            causation_id=message.causation,
            correlation_id=message.task_id,
        )
