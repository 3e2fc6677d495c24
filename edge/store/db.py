"""Opening the capture database: pragmas, integrity check, quarantine, migrations."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from edge.errors import StoreError, StoreVersionError
from edge.store.schema import LATEST, MIGRATIONS

log = logging.getLogger("midas_edge.store")

BUSY_TIMEOUT_MS = 5000
# `records.db` becomes `records.db.corrupt-<time>` when it is quarantined.
QUARANTINE_MARK = ".corrupt-"
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Opened:
    """A ready write connection and what happened while opening it."""

    conn: aiosqlite.Connection
    quarantined: Path | None
    seq_floor: int


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # auto_vacuum only takes effect before the first table exists: set it every time.
        await conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        async with conn.execute("PRAGMA journal_mode = WAL") as cur:
            row = await cur.fetchone()
        if row is None or str(row[0]).lower() != "wal":
            raise StoreError("the database refused WAL journal mode")
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        await conn.execute("PRAGMA temp_store = MEMORY")
    except BaseException:
        await conn.close()
        raise
    return conn


async def _quick_check(conn: aiosqlite.Connection) -> bool:
    async with conn.execute("PRAGMA quick_check") as cur:
        rows = await cur.fetchall()
    return [str(r[0]) for r in rows] == ["ok"]


def _sidecars(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def quarantine(path: Path) -> Path:
    """Rename the database and its WAL/SHM aside (never delete them); return the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}{QUARANTINE_MARK}{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}{QUARANTINE_MARK}{stamp}-{n}")
        n += 1
    for source in _sidecars(path):
        if source.exists():
            source.rename(target.with_name(target.name + source.name[len(path.name) :]))
    return target


def has_quarantined(path: Path) -> bool:
    """Whether a database quarantined from `path` still lies beside it."""
    return any(path.parent.glob(f"{path.name}{QUARANTINE_MARK}*"))


def _salvage_last_seq(path: Path) -> int:
    """The highest sequence number still readable in a quarantined file, else 0."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT max(seq) FROM records").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    if current > LATEST:
        raise StoreVersionError(
            f"{path.name} has schema version {current}, newer than this release ({LATEST}); "
            "refusing to downgrade"
        )
    if current == LATEST:
        return
    if current > 0:
        backup = path.with_name(f"{path.name}.pre-v{LATEST}")
        with contextlib.suppress(FileNotFoundError):
            backup.unlink()
        await conn.execute("VACUUM INTO ?", (str(backup),))
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        log.info("store migrated", extra={"schema": version})


async def open_database(path: Path) -> Opened:
    """Open (creating if needed) the capture database; quarantine it if it fails its check."""
    quarantined: Path | None = None
    seq_floor = 0
    conn: aiosqlite.Connection | None = None
    try:
        conn = await _connect(path)
        healthy = await _quick_check(conn)
    except sqlite3.DatabaseError as exc:
        log.error("store unreadable", extra={"error": type(exc).__name__})
        healthy = False
    if not healthy:
        if conn is not None:
            await conn.close()
        quarantined = quarantine(path)
        seq_floor = _salvage_last_seq(quarantined)
        log.error("store quarantined", extra={"path": quarantined.name, "seq_floor": seq_floor})
        conn = await _connect(path)
    assert conn is not None  # every path above either connected or raised
    try:
        await _migrate(conn, path)
        if quarantined is not None:
            await conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('seq_floor', ?)",
                (str(seq_floor),),
            )
        async with conn.execute("SELECT value FROM meta WHERE key = 'seq_floor'") as cur:
            row = await cur.fetchone()
        seq_floor = int(row[0]) if row else 0
    except BaseException:
        await conn.close()
        raise
    return Opened(conn, quarantined, seq_floor)
