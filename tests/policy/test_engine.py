from __future__ import annotations

from pathlib import Path

import pytest

from greenroom.policy import PolicyEngine


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    e = PolicyEngine(tmp_path / "state.sqlite")
    yield e
    e.close()


class TestDefaultPolicy:
    @pytest.mark.parametrize(
        ("side_effects", "decision", "rule"),
        [
            ("none", "allow", "read-only"),
            ("read", "allow", "read-only"),
            ("write", "ask", "side-effects-ask"),
            ("external", "ask", "side-effects-ask"),
            (None, "deny", "unknown-tool"),
        ],
    )
    def test_defaults(self, engine: PolicyEngine, side_effects, decision: str, rule: str) -> None:  # type: ignore[no-untyped-def]
        """Read-only tools are allowed, side effects ask, unknown tools are denied."""
        d = engine.decide("x.tool", side_effects, {})
        assert (d.decision, d.rule) == (decision, rule)

    def test_remembered_decision_wins_and_persists(self, tmp_path: Path) -> None:
        """'Yes, remember' allows the tool from then on, across restarts."""
        e = PolicyEngine(tmp_path / "s.sqlite")
        e.remember("memory.remember", approved=True)
        e.close()
        e2 = PolicyEngine(tmp_path / "s.sqlite")
        d = e2.decide("memory.remember", "write", {})
        assert (d.decision, d.rule) == ("allow", "remembered:memory.remember")
        e2.remember("memory.remember", approved=False)
        assert e2.decide("memory.remember", "write", {}).decision == "deny"
        e2.close()
