"""Where MCP server definitions live: a table in the daemon's 0600 state database.

Each row holds the definition, its secrets (header and environment values),
whether it is enabled (and if not, why), and the tools it listed last time, so
the daemon can offer a server's tools at start-up without starting the server
(servers start lazily, on their first call).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from greenroom.bus.journal import create_private_file
from greenroom.tools.mcp.convert import McpToolInfo
from greenroom.tools.mcp.errors import McpConflictError, McpNotFoundError
from greenroom.tools.mcp.settings import McpSecrets, McpServerSpec

_TABLE = "mcp_servers"


class StoredServer(msgspec.Struct, frozen=True, kw_only=True):
    spec: McpServerSpec
    secrets: McpSecrets
    enabled: bool = True
    disabled_reason: str = ""
    tools: list[McpToolInfo] | None = None
    """The tools it listed last (None: it never connected)."""
    added: float = 0.0


class McpStore:
    """MCP server definitions in SQLite.

    Args:
        db_path: the state database (created 0600; SQLite gives its WAL the same mode).
    """

    def __init__(self, db_path: Path) -> None:
        create_private_file(db_path)
        # Autocommit: each statement is its own transaction; the lock serialises threads.
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.Lock()
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {_TABLE} (name TEXT PRIMARY KEY, spec_json TEXT, secrets_json TEXT,"
            " enabled INTEGER, disabled_reason TEXT, tools_json TEXT, added FLOAT)"
        )

    def _rows(self, where: str | None = None, args: list[Any] | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT * FROM {_TABLE}" + (f" WHERE {where}" if where else "") + " ORDER BY name"
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, args or [])]

    @staticmethod
    def _decode(row: dict[str, Any]) -> StoredServer:
        tools = row.get("tools_json") or ""
        return StoredServer(
            spec=msgspec.json.decode(row["spec_json"], type=McpServerSpec),
            secrets=msgspec.json.decode(row["secrets_json"], type=McpSecrets),
            enabled=bool(row["enabled"]),
            disabled_reason=row.get("disabled_reason") or "",
            tools=msgspec.json.decode(tools, type=list[McpToolInfo]) if tools else None,
            added=row.get("added") or 0.0,
        )

    def all(self) -> list[StoredServer]:
        return [self._decode(r) for r in self._rows()]

    def get(self, name: str) -> StoredServer:
        """The server called ``name``.

        Raises:
            McpNotFoundError: there is none.
        """
        rows = self._rows("name = ?", [name])
        if not rows:
            raise McpNotFoundError(f"no MCP server named {name!r}")
        return self._decode(rows[0])

    def add(self, spec: McpServerSpec, secrets: McpSecrets, *, enabled: bool = True) -> StoredServer:
        """Store a new server.

        Raises:
            McpConflictError: a server of that name exists.
        """
        row = {
            "name": spec.name,
            "spec_json": msgspec.json.encode(spec).decode(),
            "secrets_json": msgspec.json.encode(secrets).decode(),
            "enabled": int(enabled),
            "disabled_reason": "" if enabled else "added disabled",
            "tools_json": "",
            "added": time.time(),
        }
        with self._lock:
            try:
                self._db.execute(
                    f"INSERT INTO {_TABLE} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
            except sqlite3.IntegrityError:
                raise McpConflictError(f"an MCP server named {spec.name!r} exists (remove it first)") from None
        return self.get(spec.name)

    def _update(self, name: str, **values: Any) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)  # column names are this module's own
        with self._lock:
            cur = self._db.execute(f"UPDATE {_TABLE} SET {assignments} WHERE name = ?", [*values.values(), name])
        if cur.rowcount == 0:
            raise McpNotFoundError(f"no MCP server named {name!r}")

    def set_enabled(self, name: str, enabled: bool, reason: str = "") -> None:
        self._update(name, enabled=int(enabled), disabled_reason="" if enabled else reason)

    def set_tools(self, name: str, tools: list[McpToolInfo]) -> None:
        self._update(name, tools_json=msgspec.json.encode(tools).decode())

    def remove(self, name: str) -> None:
        with self._lock:
            cur = self._db.execute(f"DELETE FROM {_TABLE} WHERE name = ?", [name])
        if cur.rowcount == 0:
            raise McpNotFoundError(f"no MCP server named {name!r}")

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["McpStore", "StoredServer"]
