"""Policy: allow / ask / deny for every tool call, with the rule that decided."""

from __future__ import annotations

from greenroom.policy.describe import call_question
from greenroom.policy.engine import (
    PolicyDecision,
    PolicyEngine,
    Scope,
    ToolFacts,
    default_rules,
    risk_score,
    scoped_condition,
    scopes_for,
)
from greenroom.policy.rules import Condition, Rule, RuleSet, load_rules

__all__ = [
    "Condition",
    "PolicyDecision",
    "PolicyEngine",
    "Rule",
    "RuleSet",
    "Scope",
    "ToolFacts",
    "call_question",
    "default_rules",
    "load_rules",
    "risk_score",
    "scoped_condition",
    "scopes_for",
]
