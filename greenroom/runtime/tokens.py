"""Tokens for ws/tcp clients: minted, listed and revoked over ipc, stored hashed.

A token reads ``grt_<id>_<secret>``: the id (8 hex digits) names it in lists and
logs, the secret (32 random bytes, base64url) is shown once and stored only as
its SHA-256. A fast hash is enough because the secret is random and long, not a
password a person chose. Rows live in the state database (mode 0600).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from greenroom.bus.journal import create_private_file
from greenroom.bus.protocol import Role, TokenInfo

ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
_TOKEN = re.compile(r"grt_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
_ID = re.compile(r"[0-9a-f]{8}")
MAX_NAME = 100
MAX_TTL_S = 366 * 86400.0


class TokenError(Exception):
    """A token request is invalid (unknown role, bad ttl, no such token)."""


class TokenStore:
    """Hashed tokens in SQLite.

    Args:
        path: the database file (created 0600 if missing).
        clock: the time source (tests move it to expire tokens).
    """

    def __init__(self, path: Path, clock: object = time.time) -> None:
        create_private_file(path)
        self._clock = clock
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL,"
            " name TEXT NOT NULL, created REAL NOT NULL, expires REAL, revoked REAL, last_used REAL)"
        )
        self._lock = threading.Lock()

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def create(self, role: str, name: str = "", ttl_s: float | None = None) -> tuple[str, TokenInfo]:
        """Mint a token; returns the secret (the only time it exists in clear) and its info.

        Raises:
            TokenError: an unknown role, a name too long, or a ttl outside (0, one year].
        """
        if role not in ROLES:
            raise TokenError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if len(name) > MAX_NAME:
            raise TokenError(f"name is {len(name)} characters; at most {MAX_NAME}")
        if ttl_s is not None and not 0 < ttl_s <= MAX_TTL_S:
            raise TokenError(f"ttl_s must be in (0, {MAX_TTL_S:g}], not {ttl_s}")
        now = self._now()
        with self._lock:
            while True:
                token_id = secrets.token_hex(4)
                if self._conn.execute("SELECT 1 FROM tokens WHERE id = ?", [token_id]).fetchone() is None:
                    break
            secret = secrets.token_urlsafe(32)
            expires = None if ttl_s is None else now + ttl_s
            self._conn.execute(
                "INSERT INTO tokens (id, hash, role, name, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
                [token_id, _digest(secret), role, name, now, expires],
            )
        info = TokenInfo(token_id=token_id, role=role, name=name, created=now, expires=expires)
        return f"grt_{token_id}_{secret}", info

    def verify(self, token: str) -> TokenInfo | None:
        """The token's info if it is well formed, known, unexpired and not revoked; else None."""
        m = _TOKEN.fullmatch(token)
        if m is None:
            return None
        token_id, secret = m.groups()
        with self._lock:
            row = self._conn.execute(
                "SELECT hash, role, name, created, expires, revoked FROM tokens WHERE id = ?", [token_id]
            ).fetchone()
            if row is None or not hmac.compare_digest(row[0], _digest(secret)):
                return None
            now = self._now()
            if row[5] is not None or (row[4] is not None and row[4] <= now):
                return None
            self._conn.execute("UPDATE tokens SET last_used = ? WHERE id = ?", [now, token_id])
        return TokenInfo(token_id=token_id, role=row[1], name=row[2], created=row[3], expires=row[4], last_used=now)

    def is_valid(self, token_id: str) -> bool:
        """Whether ``token_id`` is still unexpired and unrevoked (live sessions re-check this)."""
        with self._lock:
            row = self._conn.execute("SELECT expires, revoked FROM tokens WHERE id = ?", [token_id]).fetchone()
        return row is not None and row[1] is None and (row[0] is None or row[0] > self._now())

    def list(self) -> list[TokenInfo]:
        """Every token, oldest first (revoked and expired ones too, so the list tells what happened)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, role, name, created, expires, revoked, last_used FROM tokens ORDER BY created, id"
            ).fetchall()
        return [
            TokenInfo(token_id=r[0], role=r[1], name=r[2], created=r[3], expires=r[4], revoked=r[5], last_used=r[6])
            for r in rows
        ]

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token (idempotent); returns its info.

        Raises:
            TokenError: no token has this id.
        """
        if not _ID.fullmatch(token_id):
            raise TokenError(f"{token_id!r} is not a token id (8 hex digits, as `greenroom token list` shows)")
        with self._lock:
            self._conn.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", [self._now(), token_id]
            )
        info = next((t for t in self.list() if t.token_id == token_id), None)
        if info is None:
            raise TokenError(f"no token {token_id!r}")
        return info

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
