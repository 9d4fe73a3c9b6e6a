"""The policy engine: allow / ask / deny for one tool call, with the rule that decided.

See ``rules.py`` for the evaluation order. Remembered decisions and the offline
switch persist in SQLite; configured rules come from the config file; the
built-in defaults are derived from the tools' declared side effects.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import msgspec

from greenroom.bus.journal import create_private_file
from greenroom.policy.rules import (
    PATH_ARGS,
    Condition,
    Decision,
    PathArgumentError,
    Rule,
    path_problem,
    resolve_path,
    rule_matches,
    url_has_credentials,
    url_host,
)

Scope = Literal["tool", "path", "domain", "command"]


class ToolFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the policy needs to know about a tool (from its spec)."""

    side_effects: Literal["none", "read", "write", "external"] = "none"
    network: bool = False
    shell: bool = False
    origin: Literal["builtin", "plugin", "mcp"] = "builtin"
    """MCP tools' side effects are what their server claims (``readOnlyHint``)."""


class PolicyDecision(msgspec.Struct, frozen=True):
    decision: Decision
    rule: str
    reason: str = ""
    risk: float = 0.0
    resolved: dict[str, str] = {}
    """Path arguments as decided on: absolute, ``~`` expanded, symlinks and ``..`` resolved.
    The call may act on exactly these paths (the file tools re-check at execution)."""


def default_rules(tools: dict[str, ToolFacts], fs_roots: list[str]) -> list[Rule]:
    """The safe defaults: reads inside the roots allow, writes and shell ask, network allows.

    MCP tools that their server marks read-only (``readOnlyHint``) are allowed by a rule
    of their own, ``mcp-read-only``, so that a person sees the allow rests on the
    server's word (and can tighten it with a config rule, which is evaluated first).
    """
    reads = sorted(
        n for n, f in tools.items() if f.side_effects in ("none", "read") and not f.shell and f.origin != "mcp"
    )
    mcp_reads = sorted(
        n for n, f in tools.items() if f.side_effects in ("none", "read") and not f.shell and f.origin == "mcp"
    )
    return [
        Rule(
            id="url-credentials",
            tools=["*"],
            decision="deny",
            reason="the URL carries credentials",
            when=Condition(url_has_credentials=True),
        ),
        Rule(
            id="outside-roots",
            tools=["fs.*"],
            decision="deny",
            reason=f"the path is outside the allowed roots ({', '.join(fs_roots)})",
            when=Condition(path_not_under=fs_roots),
        ),
        Rule(id="read-only", tools=reads or ["-"], decision="allow", reason="the tool only reads"),
        Rule(
            id="mcp-read-only",
            tools=mcp_reads or ["-"],
            decision="allow",
            reason="its MCP server marks the tool read-only (readOnlyHint)",
        ),
        Rule(id="side-effects-ask", tools=["*"], decision="ask", reason="the tool changes something"),
    ]


def risk_score(facts: ToolFacts | None, args: dict[str, Any], flagged: bool) -> float:
    """0 (harmless) to 1 (dangerous): a rough, explainable score shown with each decision."""
    if facts is None:
        return 1.0
    score = {"none": 0.0, "read": 0.1, "write": 0.5, "external": 0.6}[facts.side_effects]
    if facts.shell:
        score = max(score, 0.8)
    if facts.network:
        score += 0.1
    url = args.get("url")
    if isinstance(url, str) and url_has_credentials(url):
        score += 0.3
    if flagged:
        score += 0.3
    return round(min(1.0, score), 2)


class PolicyEngine:
    """Decides allow / ask / deny for one call.

    Args:
        db_path: SQLite file holding remembered decisions and the offline switch.
        rules: the config's rules (in file order).
        defaults: the built-in rules (``default_rules``), evaluated last.
    """

    def __init__(
        self, db_path: Path, rules: Iterable[Rule] = (), defaults: Iterable[Rule] = (), base_dir: Path | None = None
    ) -> None:
        create_private_file(db_path)
        # Actors call in from their own threads; the lock below serialises access.
        # Autocommit (isolation_level=None): every statement here is its own transaction.
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS policy_remembered (id INTEGER PRIMARY KEY, tool TEXT, decision TEXT,"
            " scope TEXT, when_json TEXT, created FLOAT)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS policy_state (key TEXT PRIMARY KEY, value TEXT)")
        self.configured = list(rules)
        self.defaults = list(defaults)
        self.base_dir = base_dir
        """Relative paths are relative to this (the first allowed root)."""

    def set_defaults(self, defaults: Iterable[Rule]) -> None:
        """Replace the built-in rules (the tool set changed: an MCP server came or went)."""
        self.defaults = list(defaults)  # one reference swap: readers see the old list or the new one

    # -- state -----------------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        with self._lock:
            row = self._db.execute("SELECT value FROM policy_state WHERE key = 'offline'").fetchone()
        return row is not None and row[0] == "1"

    def set_offline(self, on: bool) -> None:
        """Switch offline mode (persisted): network tools are denied while it is on."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO policy_state (key, value) VALUES ('offline', ?)", ["1" if on else "0"]
            )

    def remembered(self) -> list[Rule]:
        """The person's remembered decisions as rules, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, tool, decision, scope, when_json FROM policy_remembered ORDER BY id DESC"
            ).fetchall()
        return [
            Rule(
                id=f"remembered:{row_id}",
                tools=[tool],
                decision=decision,
                reason=f"a person decided this before (scope {scope})",
                when=msgspec.json.decode(when_json, type=Condition),
            )
            for row_id, tool, decision, scope, when_json in rows
        ]

    def layers(self) -> list[tuple[str, list[Rule]]]:
        """Every rule by layer, in evaluation order."""
        return [("remembered", self.remembered()), ("config", self.configured), ("default", self.defaults)]

    # -- deciding --------------------------------------------------------------------------

    def decide(
        self, tool: str, facts: ToolFacts | None, args: dict[str, Any], *, flagged: bool = False
    ) -> PolicyDecision:
        """The decision for calling ``tool`` with ``args`` (``facts`` None: unknown tool)."""
        risk = risk_score(facts, args, flagged)
        if facts is None:
            return PolicyDecision("deny", "unknown-tool", f"no tool named {tool!r}", risk)
        if facts.network and self.offline:
            return PolicyDecision("deny", "offline", "offline mode is on: network tools are blocked", risk)
        for name in PATH_ARGS:
            problem = path_problem(args.get(name))
            if problem is not None:
                return PolicyDecision("deny", "bad-path", f"the argument `{name}` {problem}", risk)
        try:
            resolved = {n: str(resolve_path(v, self.base_dir)) for n in PATH_ARGS if isinstance(v := args.get(n), str)}
            decision = self._evaluate(tool, facts, {**args, **resolved}, flagged, risk)
        except PathArgumentError as exc:
            return PolicyDecision("deny", "bad-path", str(exc), risk)
        return msgspec.structs.replace(decision, resolved=resolved) if resolved else decision

    def _evaluate(
        self, tool: str, facts: ToolFacts, args: dict[str, Any], flagged: bool, risk: float
    ) -> PolicyDecision:
        layers = self.layers()
        for _, rules in layers:
            for rule in rules:
                if rule.decision == "deny" and rule_matches(rule, tool, args):
                    return PolicyDecision("deny", rule.id, rule.reason, risk)
        risky = facts.side_effects in ("write", "external") or facts.shell
        if flagged and risky:
            return PolicyDecision(
                "ask", "guard:injection", "a tool output in this task looked like a prompt injection", risk
            )
        for _, rules in layers:
            for rule in rules:
                if rule.decision != "deny" and rule_matches(rule, tool, args):
                    return PolicyDecision(rule.decision, rule.id, rule.reason, risk)
        return PolicyDecision("ask", "fallback", "no rule matched", risk)

    def remember(self, tool: str, args: dict[str, Any], approved: bool, scope: Scope = "tool") -> Rule:
        """Persist a person's decision, scoped exactly as narrowly as they chose.

        Raises:
            ValueError: the scope does not fit the call (say, ``domain`` for a call without a URL).
        """
        when = scoped_condition(args, scope, self.base_dir)
        with self._lock:
            row_id = self._db.execute(
                "INSERT INTO policy_remembered (tool, decision, scope, when_json, created) VALUES (?, ?, ?, ?, ?)",
                [tool, "allow" if approved else "deny", scope, msgspec.json.encode(when).decode(), time.time()],
            ).lastrowid
        return Rule(id=f"remembered:{row_id}", tools=[tool], decision="allow" if approved else "deny", when=when)

    def forget(self, rule_id: str) -> bool:
        """Drop a remembered decision (``remembered:N``)."""
        prefix = "remembered:"
        if not rule_id.startswith(prefix) or not rule_id[len(prefix) :].isdigit():
            return False
        with self._lock:
            cur = self._db.execute("DELETE FROM policy_remembered WHERE id = ?", [int(rule_id[len(prefix) :])])
            return cur.rowcount > 0

    def close(self) -> None:
        self._db.close()


def _glob_literal(text: str) -> str:
    """``text`` as an fnmatch pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


SCOPES: tuple[Scope, ...] = ("tool", "path", "domain", "command")


def scopes_for(args: dict[str, Any]) -> list[Scope]:
    """The scopes a decision about a call with ``args`` can be remembered at."""
    fits = []
    for scope in SCOPES:
        try:
            scoped_condition(args, scope)
        except ValueError:
            continue
        fits.append(scope)
    return fits


def scoped_condition(args: dict[str, Any], scope: Scope, base: Path | None = None) -> Condition:
    """The condition for remembering a decision at ``scope`` for a call with ``args``."""
    if scope == "tool":
        return Condition()
    if scope == "path":
        value = args.get("path") or args.get("root")
        if not isinstance(value, str):
            raise ValueError("scope 'path' needs a call with a path argument")
        target = resolve_path(value, base)  # PathArgumentError is a ValueError
        folder = target if target.is_dir() else target.parent
        return Condition(path_under=[str(folder)])
    if scope == "domain":
        host = url_host(args.get("url", "")) if isinstance(args.get("url"), str) else ""
        if not host:
            raise ValueError("scope 'domain' needs a call with a url argument")
        return Condition(domain_in=[host])
    if scope == "command":
        command = args.get("command")
        if not isinstance(command, str):
            raise ValueError("scope 'command' needs a call with a command argument")
        return Condition(command_matches=[_glob_literal(" ".join(command.split()))])
    raise ValueError(f"unknown scope {scope!r} (tool, path, domain or command)")


__all__ = [
    "PolicyDecision",
    "PolicyEngine",
    "Scope",
    "ToolFacts",
    "default_rules",
    "risk_score",
    "scoped_condition",
    "scopes_for",
]
