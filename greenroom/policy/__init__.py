"""Policy: allow / ask / deny for every tool call, with the rule that decided."""

from __future__ import annotations

from greenroom.policy.engine import PolicyDecision, PolicyEngine

__all__ = ["PolicyDecision", "PolicyEngine"]
