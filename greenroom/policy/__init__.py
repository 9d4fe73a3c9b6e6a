"""Policy: allow / ask / deny for every tool call, with the rule that decided.

Names load lazily (``greenroom._lazy``): the config reads ``policy.rules`` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
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

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "call_question": "describe",
        "PolicyDecision": "engine",
        "PolicyEngine": "engine",
        "Scope": "engine",
        "ToolFacts": "engine",
        "default_rules": "engine",
        "risk_score": "engine",
        "scoped_condition": "engine",
        "scopes_for": "engine",
        "Condition": "rules",
        "Rule": "rules",
        "RuleSet": "rules",
        "load_rules": "rules",
    },
)
