from __future__ import annotations

from pathlib import Path

from greenroom.policy import PolicyEngine, ToolFacts, default_rules

FACTS = {"memory.remember": ToolFacts(side_effects="write"), "web.fetch": ToolFacts(side_effects="read", network=True)}


def _engine(path: Path) -> PolicyEngine:
    return PolicyEngine(path, defaults=default_rules(FACTS, [str(path.parent)]))


class TestPersistence:
    def test_remembered_decisions_survive_a_restart(self, tmp_path: Path) -> None:
        """'Yes, remember' is stored: a new engine on the same file still allows the tool."""
        e = _engine(tmp_path / "s.sqlite")
        e.remember("memory.remember", {"text": "x"}, approved=True)
        e.close()
        e2 = _engine(tmp_path / "s.sqlite")
        d = e2.decide("memory.remember", FACTS["memory.remember"], {})
        assert (d.decision, d.rule) == ("allow", "remembered:1")
        e2.close()

    def test_offline_switch_persists(self, tmp_path: Path) -> None:
        """Offline mode stays on across restarts until switched off."""
        e = _engine(tmp_path / "s.sqlite")
        e.set_offline(True)
        e.close()
        e2 = _engine(tmp_path / "s.sqlite")
        assert e2.offline
        assert e2.decide("web.fetch", FACTS["web.fetch"], {"url": "https://a.test"}).rule == "offline"
        e2.set_offline(False)
        assert e2.decide("web.fetch", FACTS["web.fetch"], {"url": "https://a.test"}).decision == "allow"
        e2.close()
