"""The state database's schema version and its upgrades.

``state.sqlite`` holds what the daemon keeps besides the journal and memory:
token hashes, remembered policy decisions and offline mode, plugin states,
per-model parameters and the kept model choice. Each owner creates its own
tables (``IF NOT EXISTS``); this module numbers the schema (``PRAGMA
user_version``) and runs the upgrades from older versions, once each, in
order, before any owner opens the file. Add an upgrade to change the schema;
never edit one that has shipped.

0. release 0.1: each owner's tables, no version number.
1. ``model_choice``: the model kept active across restarts (``models load --keep``).

A new table its owner creates on first use (the MCP servers' ``mcp_servers``) needs
no step here; a change to an existing table's rows or columns does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import structlog

from greenroom.bus.journal import create_private_file
from greenroom.models.params import CHOICE_TABLE
from greenroom.runtime.errors import StateVersionError

log = structlog.get_logger(__name__)

STATE_VERSION = 1


def migrate_state(path: Path) -> int:
    """Bring ``path`` (created, mode 0600, if missing) to ``STATE_VERSION``; return the version it had.

    Raises:
        StateVersionError: it was written by a newer greenroom.
    """
    create_private_file(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=5000")
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > STATE_VERSION:
            raise StateVersionError(
                f"{path} has schema version {found}, newer than this greenroom understands ({STATE_VERSION}); "
                "upgrade greenroom"
            )
        if found < 1:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(CHOICE_TABLE)
            conn.execute("PRAGMA user_version=1")
            conn.execute("COMMIT")
        if found < STATE_VERSION:
            log.info("state_upgraded", path=str(path), from_version=found, to_version=STATE_VERSION)
    finally:
        conn.close()
    return found
