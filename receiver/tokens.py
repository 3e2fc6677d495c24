"""One-time enrollment tokens: issued for one workstation, stored hashed, expiring, single use.

A token reads `<id>.<secret>`; the database keeps the id, the workstation, the SHA-256 of the
secret (the secret has 256 bits: a plain hash is enough) and the times. `redeem()` checks a
token and marks it used in one `BEGIN IMMEDIATE` transaction, after the caller's own checks
passed, so two receiver processes cannot both accept it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
BUSY_TIMEOUT_S = 10.0
DEFAULT_VALID_S = 24 * 3600.0

_SCHEMA = """CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    workstation TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
)"""


class TokenError(Exception):
    """A token is refused; `reason` is the code the API answers (never the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """The tokens of one region, in a SQLite file of their own."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(_SCHEMA)
        return conn

    def issue(self, workstation: str, now: float, valid_s: float = DEFAULT_VALID_S) -> str:
        """A new token for `workstation`, valid `valid_s` seconds; only its hash is kept."""
        if not math.isfinite(valid_s) or valid_s <= 0:
            raise ValueError("valid_s: expected a finite validity above zero")
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        conn = self._connect()
        try:
            conn.execute(
                "INSERT INTO tokens (id, workstation, secret_sha256, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_id, workstation, _digest(secret), now, now + valid_s),
            )
        finally:
            conn.close()
        return f"{token_id}.{secret}"

    def redeem(self, token: str, now: float, accept: Callable[[str], T]) -> T:
        """Check `token`, run `accept(workstation)`, then mark the token used; TokenError.

        An exception from `accept` leaves the token unused.
        """
        token_id, sep, secret = token.strip().partition(".")
        if not sep or not token_id or not secret:
            raise TokenError("invalid_token")
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT workstation, secret_sha256, expires_at, used_at FROM tokens"
                    " WHERE id = ?",
                    (token_id,),
                ).fetchone()
                if row is None or not hmac.compare_digest(str(row[1]), _digest(secret)):
                    raise TokenError("invalid_token")
                if row[3] is not None:
                    raise TokenError("token_used")
                if float(row[2]) <= now:
                    raise TokenError("token_expired")
                result = accept(str(row[0]))
                conn.execute("UPDATE tokens SET used_at = ? WHERE id = ?", (now, token_id))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
        return result
