"""The PostgreSQL schema of the receiver and its migrations.

The schema carries its version (`schema_version`): version 1 is the tables as first released,
created when missing; each later step of `STEPS` runs once, in its own transaction, under the
same advisory lock as schema creation, so receivers starting together migrate once. A database
of a newer version than this receiver's is refused.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from psycopg import sql as psql

from receiver import SetupError

log = logging.getLogger("receiver")

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    workstation TEXT NOT NULL,
    seq BIGINT NOT NULL,
    body BYTEA NOT NULL,
    prev BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    sig BYTEA NOT NULL,
    key_id TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS records_workstation_seq ON records (workstation, seq);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    data BYTEA NOT NULL,
    size BIGINT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_lists (
    version BIGINT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    body BYTEA NOT NULL,
    published_at DOUBLE PRECISION NOT NULL
);
"""
# Schema steps after version 1 (`SCHEMA`): (version, statements), each applied in one transaction.
STEPS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        2,
        (
            # The rows already there were committed before this step (it waits for their
            # writers): xid 0 lists them first, by n, as a listing by n had them.
            "ALTER TABLE records ADD COLUMN xid xid8 NOT NULL DEFAULT '0'",
            "ALTER TABLE records ALTER COLUMN xid SET DEFAULT pg_current_xact_id()",
            "CREATE INDEX records_xid_n ON records (xid, n)",
        ),
    ),
    (
        3,
        # Where each key of a workstation starts: the bound of a batch under a retired key.
        ("CREATE INDEX records_workstation_key ON records (workstation, key_id, seq)",),
    ),
)
LATEST = STEPS[-1][0]
VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)
# Serializes schema creation between processes starting together (CREATE ... IF NOT EXISTS races).
SCHEMA_LOCK = 0x6D696461735F7276


async def create_schema(conn: psycopg.AsyncConnection[Any], schema: str | None) -> None:
    """The schema at its latest version: created, or migrated step by step."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        if schema is not None:
            await conn.execute(
                psql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(psql.Identifier(schema))
            )
        await conn.execute(SCHEMA)
        await conn.execute(VERSION_TABLE)
    for version, statements in STEPS:
        await _step(conn, version, statements)


async def _step(
    conn: psycopg.AsyncConnection[Any], version: int, statements: tuple[str, ...]
) -> None:
    """Apply one schema step unless it is applied (by this process or another)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        cur = await conn.execute("SELECT COALESCE(MAX(version), 1) FROM schema_version")
        row = await cur.fetchone()
        current = int(row[0]) if row else 1
        if current > LATEST:
            raise SetupError(
                f"the database has schema version {current}, newer than this receiver's "
                f"({LATEST}): refusing to use it"
            )
        if current >= version:
            return
        log.info("migrating the database schema to version %d", version)
        # A step may build an index over every record: no statement timeout for it.
        await conn.execute("SET LOCAL statement_timeout = 0")
        for statement in statements:
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)",
            (version, time.time()),
        )
    log.info("database schema migrated to version %d", version)
