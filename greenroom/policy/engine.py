"""The default policy: read-only tools are allowed, tools with side effects ask.

Decisions a person asked to remember ("yes, and remember") are stored and
consulted first. The full rule language (argument conditions, offline mode,
guards) replaces this in the policy engine issue; the interface stays.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import sqlite_utils

from greenroom.bus.events import Decision
from greenroom.bus.journal import create_private_file
from greenroom.tools.spec import SideEffects


class PolicyDecision(msgspec.Struct, frozen=True):
    decision: Decision
    rule: str
    reason: str = ""


_DEFAULT_RULES: dict[SideEffects, PolicyDecision] = {
    "none": PolicyDecision("allow", "read-only", "the tool has no side effects"),
    "read": PolicyDecision("allow", "read-only", "the tool only reads"),
    "write": PolicyDecision("ask", "side-effects-ask", "the tool changes stored data"),
    "external": PolicyDecision("ask", "side-effects-ask", "the tool acts outside this machine"),
}


class PolicyEngine:
    """Decides allow / ask / deny for one tool call.

    Args:
        db_path: SQLite file holding remembered decisions.
    """

    def __init__(self, db_path: Path) -> None:
        create_private_file(db_path)
        # Actors call in from their own threads; the lock below serialises access.
        self._db = sqlite_utils.Database(sqlite3.connect(db_path, check_same_thread=False))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        self._db["policy_remembered"].create(
            {"tool": str, "decision": str, "created": float}, pk="tool", if_not_exists=True
        )

    def decide(self, tool: str, side_effects: SideEffects | None, args: dict[str, Any]) -> PolicyDecision:
        """The decision for calling ``tool`` (None side effects: unknown tool)."""
        if side_effects is None:
            return PolicyDecision("deny", "unknown-tool", f"no tool named {tool!r}")
        with self._lock:
            rows = list(self._db["policy_remembered"].rows_where("tool = ?", [tool]))
        if rows:
            decision = rows[0]["decision"]
            return PolicyDecision(decision, f"remembered:{tool}", "a person decided this before")
        return _DEFAULT_RULES[side_effects]

    def remember(self, tool: str, approved: bool) -> None:
        """From now on, ``tool`` is allowed (or denied) without asking."""
        with self._lock:
            self._db["policy_remembered"].upsert(
                {"tool": tool, "decision": "allow" if approved else "deny", "created": time.time()},
                pk="tool",
            )

    def close(self) -> None:
        self._db.close()
