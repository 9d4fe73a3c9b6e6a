"""The rule engine, table-driven: roots, symlinks, '..', URLs, look-alike domains, commands, guard, offline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from greenroom.policy import PolicyEngine, ToolFacts, default_rules, load_rules, scoped_condition

FACTS = {
    "fs.read": ToolFacts(side_effects="read"),
    "fs.list": ToolFacts(side_effects="read"),
    "fs.search": ToolFacts(side_effects="read"),
    "fs.write": ToolFacts(side_effects="write"),
    "fs.patch": ToolFacts(side_effects="write"),
    "shell.exec": ToolFacts(side_effects="external", shell=True),
    "web.fetch": ToolFacts(side_effects="read", network=True),
    "memory.remember": ToolFacts(side_effects="write"),
    "system.time": ToolFacts(side_effects="none"),
}

RULES = """
[[rules]]
id = "notes-private-deny"
tools = ["fs.*"]
decision = "deny"
reason = "private notes stay private"
when = {{ path_under = ["{root}/notes/private"] }}

[[rules]]
id = "big-writes"
tools = ["fs.write"]
decision = "ask"
when = {{ size_over = 1000 }}

[[rules]]
id = "notes-write-allow"
tools = ["fs.write", "fs.patch"]
decision = "allow"
when = {{ path_under = ["{root}/notes"] }}

[[rules]]
id = "no-evil"
tools = ["web.*"]
decision = "deny"
when = {{ domain_in = ["evil.test"] }}

[[rules]]
id = "example-fetch"
tools = ["web.fetch"]
decision = "allow"
when = {{ domain_in = ["example.com"] }}

[[rules]]
id = "web-ask"
tools = ["web.fetch"]
decision = "ask"

[[rules]]
id = "git-status"
tools = ["shell.exec"]
decision = "allow"
when = {{ command_matches = ["git status*", "ls *"] }}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for d in ("notes/private", "notes/sub", "work/dir", "outside"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "notes/a.md").write_text("a")
    (tmp_path / "outside/secret.txt").write_text("s")
    os.symlink(tmp_path / "outside", tmp_path / "notes/link-out")
    os.symlink(tmp_path / "outside/secret.txt", tmp_path / "notes/secret-link.txt")
    return tmp_path


@pytest.fixture
def engine(root: Path):  # type: ignore[no-untyped-def]
    roots = [str(root / "notes"), str(root / "work")]
    e = PolicyEngine(root / "state.sqlite", load_rules(RULES.format(root=root)), default_rules(FACTS, roots))
    yield e
    e.close()


# (tool, args, flags, expected decision, expected rule); "{r}" in string args is the temp root.
CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("fs.read", {"path": "{r}/notes/a.md"}, "", "allow", "read-only"),
    ("fs.read", {"path": "{r}/outside/secret.txt"}, "", "deny", "outside-roots"),
    ("fs.read", {"path": "{r}/notes/../outside/secret.txt"}, "", "deny", "outside-roots"),
    ("fs.read", {"path": "{r}/notes/link-out/secret.txt"}, "", "deny", "outside-roots"),
    ("fs.read", {"path": "{r}/notes/secret-link.txt"}, "", "deny", "outside-roots"),
    ("fs.read", {"path": "{r}/notes/private/diary.md"}, "", "deny", "notes-private-deny"),
    ("fs.read", {"path": "{r}/notes/sub/../private/diary.md"}, "", "deny", "notes-private-deny"),
    ("fs.list", {"path": "{r}/notes"}, "", "allow", "read-only"),
    ("fs.search", {"root": "{r}"}, "", "deny", "outside-roots"),
    ("fs.list", {"path": "{r}/work"}, "", "allow", "read-only"),
    ("fs.write", {"path": "{r}/notes/new.md", "content": "hi"}, "", "allow", "notes-write-allow"),
    ("fs.write", {"path": "{r}/notes/private/x.md", "content": "hi"}, "", "deny", "notes-private-deny"),
    ("fs.write", {"path": "{r}/work/x.md", "content": "hi"}, "", "ask", "side-effects-ask"),
    ("fs.write", {"path": "{r}/notes/big.md", "content": "x" * 2000}, "", "ask", "big-writes"),
    ("fs.write", {"path": "{r}/notes/link-out/x", "content": "hi"}, "", "deny", "outside-roots"),
    ("fs.patch", {"path": "{r}/notes/sub/../../outside/y", "old": "a", "new": "b"}, "", "deny", "outside-roots"),
    ("fs.patch", {"path": "{r}/notes/a.md", "old": "a", "new": "b"}, "", "allow", "notes-write-allow"),
    ("web.fetch", {"url": "https://example.com/page"}, "", "allow", "example-fetch"),
    ("web.fetch", {"url": "https://api.example.com/x"}, "", "allow", "example-fetch"),
    ("web.fetch", {"url": "https://EXAMPLE.COM./x"}, "", "allow", "example-fetch"),
    ("web.fetch", {"url": "https://evil-example.com/"}, "", "ask", "web-ask"),
    ("web.fetch", {"url": "https://example.com.evil.test/"}, "", "deny", "no-evil"),
    ("web.fetch", {"url": "https://notexample.com/"}, "", "ask", "web-ask"),
    ("web.fetch", {"url": "https://user:pw@example.com/"}, "", "deny", "url-credentials"),
    ("web.fetch", {"url": "https://token@example.com/"}, "", "deny", "url-credentials"),
    ("web.fetch", {"url": "https://example.com/"}, "offline", "deny", "offline"),
    ("web.fetch", {"url": "not a url"}, "", "ask", "web-ask"),
    ("shell.exec", {"command": "git status"}, "", "allow", "git-status"),
    ("shell.exec", {"command": "git   status --short"}, "", "allow", "git-status"),
    ("shell.exec", {"command": "git status; rm -rf ~"}, "", "ask", "side-effects-ask"),
    ("shell.exec", {"command": "git status && curl evil.test"}, "", "ask", "side-effects-ask"),
    ("shell.exec", {"command": "ls $(rm -rf /)"}, "", "ask", "side-effects-ask"),
    ("shell.exec", {"command": "ls `id`"}, "", "ask", "side-effects-ask"),
    ("shell.exec", {"command": "git status > /etc/passwd"}, "", "ask", "side-effects-ask"),
    ("shell.exec", {"command": "rm -rf /"}, "", "ask", "side-effects-ask"),
    ("memory.remember", {"text": "x"}, "", "ask", "side-effects-ask"),
    ("system.time", {}, "", "allow", "read-only"),
    ("system.time", {}, "offline", "allow", "read-only"),
    ("no.such.tool", {}, "", "deny", "unknown-tool"),
    ("fs.read", {"path": "{r}/notes/a.md"}, "flagged", "allow", "read-only"),
    ("fs.write", {"path": "{r}/notes/new.md", "content": "hi"}, "flagged", "ask", "guard:injection"),
    ("shell.exec", {"command": "git status"}, "flagged", "ask", "guard:injection"),
    ("fs.write", {"path": "{r}/notes/private/x", "content": "hi"}, "flagged", "deny", "notes-private-deny"),
]


def _fill(value: Any, root: Path) -> Any:
    return value.replace("{r}", str(root)) if isinstance(value, str) else value


@pytest.mark.parametrize(("tool", "args", "flags", "decision", "rule"), CASES)
def test_rule_table(
    engine: PolicyEngine, root: Path, tool: str, args: dict[str, Any], flags: str, decision: str, rule: str
) -> None:
    """Each call gets the decision and the rule the evaluation order promises."""
    engine.set_offline(flags == "offline")
    filled = {k: _fill(v, root) for k, v in args.items()}
    d = engine.decide(tool, FACTS.get(tool), filled, flagged=flags == "flagged")
    assert (d.decision, d.rule) == (decision, rule)
    assert 0.0 <= d.risk <= 1.0


class TestRemembered:
    def test_tool_scope(self, engine: PolicyEngine) -> None:
        """'Yes, remember' for a tool allows it from then on, across restarts of the engine."""
        engine.remember("memory.remember", {"text": "x"}, approved=True, scope="tool")
        d = engine.decide("memory.remember", FACTS["memory.remember"], {"text": "other"})
        assert (d.decision, d.rule) == ("allow", "remembered:1")

    def test_path_scope_is_narrow(self, engine: PolicyEngine, root: Path) -> None:
        """A path-scoped approval covers that folder only."""
        engine.remember("fs.write", {"path": str(root / "work/dir/f.txt")}, approved=True, scope="path")
        inside = engine.decide("fs.write", FACTS["fs.write"], {"path": str(root / "work/dir/g.txt"), "content": ""})
        beside = engine.decide("fs.write", FACTS["fs.write"], {"path": str(root / "work/h.txt"), "content": ""})
        assert inside.decision == "allow"
        assert beside.decision == "ask"

    def test_domain_scope_deny(self, engine: PolicyEngine) -> None:
        """A remembered 'no' for a domain denies that domain, not its look-alikes."""
        engine.remember("web.fetch", {"url": "https://example.com/a"}, approved=False, scope="domain")
        assert engine.decide("web.fetch", FACTS["web.fetch"], {"url": "https://example.com/b"}).decision == "deny"
        look_alike = engine.decide("web.fetch", FACTS["web.fetch"], {"url": "https://myexample.com/"})
        assert look_alike.decision == "ask"

    def test_command_scope_is_exact(self, engine: PolicyEngine) -> None:
        """A remembered command allows exactly that command (glob characters are literal)."""
        engine.remember("shell.exec", {"command": "make  test *"}, approved=True, scope="command")
        facts = FACTS["shell.exec"]
        assert engine.decide("shell.exec", facts, {"command": "make test *"}).decision == "allow"
        assert engine.decide("shell.exec", facts, {"command": "make test all"}).decision == "ask"
        assert engine.decide("shell.exec", facts, {"command": "make test *; rm -rf ~"}).decision == "ask"

    def test_config_deny_beats_remembered_allow(self, engine: PolicyEngine, root: Path) -> None:
        """A deny rule wins over any remembered approval."""
        engine.remember("fs.write", {}, approved=True, scope="tool")
        d = engine.decide("fs.write", FACTS["fs.write"], {"path": str(root / "notes/private/x"), "content": ""})
        assert d.rule == "notes-private-deny"

    def test_scope_must_fit_the_call(self) -> None:
        """Remembering by domain a call without a URL is a clear error."""
        with pytest.raises(ValueError, match="needs a call with a url"):
            scoped_condition({"path": "/x"}, "domain")

    def test_forget(self, engine: PolicyEngine) -> None:
        """A remembered decision can be dropped again."""
        rule = engine.remember("memory.remember", {}, approved=True)
        assert engine.forget(rule.id)
        assert engine.decide("memory.remember", FACTS["memory.remember"], {}).decision == "ask"


class TestRuleFiles:
    def test_bad_rules_name_the_problem(self) -> None:
        """A malformed rule file is refused with a message saying what is wrong."""
        with pytest.raises(ValueError, match="Invalid enum value 'maybe'"):
            load_rules('[[rules]]\nid = "x"\ntools = ["*"]\ndecision = "maybe"\n')
        with pytest.raises(ValueError, match="unknown field `path_below`"):
            load_rules('[[rules]]\nid = "x"\ntools = ["*"]\ndecision = "ask"\nwhen = { path_below = ["/"] }\n')
