"""SQLite storage (the default): WAL, synchronous=FULL, one writer thread, one batch a commit."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from edge.wire import GENESIS, Receipt, Status
from receiver import StorageError
from receiver import sql as q
from receiver.storage import (
    KEEP_ALERT_LISTS,
    MAX_GAPS,
    AlertListMeta,
    ChainStatus,
    Checked,
    Cursor,
    Lookup,
    Newer,
    RecordOut,
    RecordPage,
    Storage,
    WorkstationOut,
    Workstations,
    chain_status,
    decide,
    listing_page,
    publish_decision,
    record_out,
    seq_page,
    wanted,
)

T = TypeVar("T")

# How long a statement waits for a lock held by another connection before it fails.
BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    workstation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body BLOB NOT NULL,
    prev BLOB NOT NULL,
    hash BLOB NOT NULL,
    sig BLOB NOT NULL,
    key_id TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS records_workstation_seq ON records (workstation, seq);
CREATE INDEX IF NOT EXISTS records_workstation_key ON records (workstation, key_id, seq);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    size INTEGER NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_lists (
    version INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL,
    published_at REAL NOT NULL
);
"""

# The listing of every record: one writer at a time (BEGIN IMMEDIATE) takes the next `n`, so `n`
# is commit order and a row never becomes visible behind one a reader already passed.
LISTING = (
    "SELECT n, workstation, seq, id, body, prev, hash, sig, key_id, received_at "
    "FROM records WHERE n > ? ORDER BY n LIMIT ?"
)
INSERT_RECORD = (
    "INSERT INTO records (workstation, seq, id, body, prev, hash, sig, key_id, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


# The two lookups below build `IN (?, ?, ...)` from a count: placeholders only, never values.
def _lookup_ids(count: int) -> str:
    marks = ", ".join("?" * count)
    return f"SELECT id, seq, hash FROM records WHERE id IN ({marks})"  # noqa: S608


def _lookup_seqs(count: int) -> str:
    marks = ", ".join("?" * count)
    return f"SELECT seq, hash FROM records WHERE workstation = ? AND seq IN ({marks})"  # noqa: S608


def _lookup_blobs(count: int) -> str:
    marks = ", ".join("?" * count)
    return f"SELECT sha256, size FROM blobs WHERE sha256 IN ({marks})"  # noqa: S608


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


class SqliteStorage(Storage):
    """One file; every write runs on the single writer thread, reads on a reader thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._wx = ThreadPoolExecutor(1, thread_name_prefix="receiver-sqlite-writer")
        self._rx = ThreadPoolExecutor(1, thread_name_prefix="receiver-sqlite-reader")

    async def open(self) -> None:
        if self._writer is not None:
            return

        def setup() -> sqlite3.Connection:
            conn = _connect(self.path)
            conn.executescript(SCHEMA)
            return conn

        self._writer = await self._on(self._wx, setup)
        self._reader = await self._on(self._rx, lambda: _connect(self.path))

    async def close(self) -> None:
        for conn, pool in ((self._writer, self._wx), (self._reader, self._rx)):
            if conn is not None:
                await asyncio.get_running_loop().run_in_executor(pool, conn.close)
        self._writer = self._reader = None
        self._wx.shutdown(wait=False)
        self._rx.shutdown(wait=False)

    async def _on(self, pool: ThreadPoolExecutor, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn)
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    def _w(self) -> sqlite3.Connection:
        if self._writer is None:
            raise StorageError("storage is not open")
        return self._writer

    def _r(self) -> sqlite3.Connection:
        if self._reader is None:
            raise StorageError("storage is not open")
        return self._reader

    async def store_batch(
        self,
        workstation: str,
        key_id: str,
        newer: Newer | None,
        records: Sequence[Checked],
        received_at: float,
    ) -> list[Receipt]:
        conn = self._w()

        def run() -> list[Receipt]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                receipts = _ingest(conn, workstation, key_id, newer, records, received_at)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return receipts

        return await self._on(self._wx, run)

    async def put_blob(self, sha256: str, data: bytes, received_at: float) -> bool:
        conn = self._w()

        def run() -> bool:
            cur = conn.execute(q.INSERT_BLOB, (sha256, data, len(data), received_at))
            return cur.rowcount == 1

        return await self._on(self._wx, run)

    async def has_blob(self, sha256: str) -> bool:
        conn = self._r()
        return await self._on(
            self._rx, lambda: conn.execute(q.HAS_BLOB, (sha256,)).fetchone() is not None
        )

    async def get_blob(self, sha256: str) -> bytes | None:
        conn = self._r()
        row = await self._on(self._rx, lambda: conn.execute(q.GET_BLOB, (sha256,)).fetchone())
        return None if row is None else bytes(row[0])

    async def record(self, record_id: str) -> RecordOut | None:
        conn = self._r()
        row = await self._on(self._rx, lambda: conn.execute(q.GET_RECORD, (record_id,)).fetchone())
        return None if row is None else record_out(row)

    async def records(self, workstation: str, after: int, limit: int) -> RecordPage:
        conn = self._r()
        params = (workstation, after, limit)
        rows = await self._on(self._rx, lambda: conn.execute(q.PAGE_WORKSTATION, params).fetchall())
        return seq_page(rows, after)

    async def listing(self, after: Cursor, limit: int) -> RecordPage:
        after = Cursor(0, after.n)  # a plain `n` too: rows are listed in `n` order here
        conn = self._r()
        rows = await self._on(self._rx, lambda: conn.execute(LISTING, (after.n, limit)).fetchall())
        out = [record_out(r) for r in rows]
        return listing_page(out, Cursor(0, out[-1].n) if out else after)

    async def workstations(self) -> Workstations:
        conn = self._r()
        rows = await self._on(self._rx, lambda: conn.execute(q.WORKSTATIONS).fetchall())
        return Workstations([WorkstationOut(*r) for r in rows])

    async def chain(self, workstation: str) -> ChainStatus | None:
        conn = self._r()

        def run() -> ChainStatus | None:
            conn.execute("BEGIN")  # one snapshot for every part of the status
            try:
                return status()
            finally:
                conn.execute("COMMIT")

        def status() -> ChainStatus | None:
            count, first, last = conn.execute(q.CHAIN_SUMMARY, (workstation,)).fetchone()
            if not count:
                return None
            gaps = conn.execute(q.CHAIN_GAPS, (workstation, MAX_GAPS + 1)).fetchall()
            starts = conn.execute(q.CHAIN_STARTS, (workstation, GENESIS, MAX_GAPS)).fetchall()
            replaced = conn.execute(
                q.CHAIN_REPLACED_KEY_STARTS, (workstation, workstation, GENESIS, MAX_GAPS)
            ).fetchall()
            breaks = conn.execute(
                q.CHAIN_BREAKS, (workstation, GENESIS, GENESIS, MAX_GAPS)
            ).fetchall()
            keys = conn.execute(q.CHAIN_KEYS, (workstation, MAX_GAPS)).fetchall()
            return chain_status(
                workstation,
                count,
                first,
                last,
                [(a, b) for a, b in gaps],
                [s for (s,) in starts],
                [s for (s,) in replaced],
                [s for (s,) in breaks],
                keys,
            )

        return await self._on(self._rx, run)

    async def publish_alert_list(
        self, version: int, sha256: str, body: bytes, published_at: float
    ) -> str:
        conn = self._w()

        def run() -> str:
            conn.execute("BEGIN IMMEDIATE")
            try:
                latest = conn.execute(q.LATEST_ALERT_LIST).fetchone()
                same = conn.execute(q.ALERT_LIST_SHA, (version,)).fetchone()
                decision = publish_decision(
                    latest[0] if latest else None, same[0] if same else None, sha256, version
                )
                if decision == "stored":
                    conn.execute(
                        q.INSERT_ALERT_LIST, (version, sha256, len(body), body, published_at)
                    )
                    conn.execute(q.PRUNE_ALERT_LISTS, (KEEP_ALERT_LISTS,))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return decision

        return await self._on(self._wx, run)

    async def latest_alert_list(self) -> AlertListMeta | None:
        conn = self._r()
        row = await self._on(self._rx, lambda: conn.execute(q.LATEST_ALERT_LIST).fetchone())
        return None if row is None else AlertListMeta(int(row[0]), row[1], int(row[2]), row[3])

    async def alert_list_body(self, version: int) -> bytes | None:
        conn = self._r()
        row = await self._on(
            self._rx, lambda: conn.execute(q.ALERT_LIST_BODY, (version,)).fetchone()
        )
        return None if row is None else bytes(row[0])

    async def ping(self) -> None:
        conn = self._r()
        await self._on(self._rx, lambda: conn.execute("SELECT 1").fetchone())


def _retired_from(
    conn: sqlite3.Connection, workstation: str, key_id: str, newer: Newer
) -> int | None:
    """`Lookup.retired_from` for a batch under the retired key `key_id` (`sql.KEY_FIRST_SEQ`)."""
    (first,) = conn.execute(q.KEY_FIRST_SEQ, (workstation, key_id, 0)).fetchone()
    if first is not None and not newer.ordered:
        params = (workstation, workstation, workstation, first, key_id)
        (bound,) = conn.execute(q.OTHER_KEY_AFTER, params).fetchone()
        return None if bound is None else int(bound)
    bounds = [
        conn.execute(q.KEY_FIRST_SEQ, (workstation, kid, first or 0)).fetchone()[0]
        for kid in newer.keys
    ]
    return min((int(b) for b in bounds if b is not None), default=None)


def _ingest(
    conn: sqlite3.Connection,
    workstation: str,
    key_id: str,
    newer: Newer | None,
    records: Sequence[Checked],
    received_at: float,
) -> list[Receipt]:
    ids, preds, shas = wanted(records)
    lookup = Lookup()
    if newer is not None:
        lookup.retired_from = _retired_from(conn, workstation, key_id, newer)
    for part in q.chunks(ids):
        for rid, seq, digest in conn.execute(_lookup_ids(len(part)), part):
            lookup.by_id[rid] = (seq, bytes(digest))
    for seqs in q.chunks(preds):
        for seq, digest in conn.execute(_lookup_seqs(len(seqs)), [workstation, *seqs]):
            lookup.at_seq.setdefault(seq, set()).add(bytes(digest))
    # Blobs are written on this connection too, and BEGIN IMMEDIATE keeps other processes'
    # writers out until the commit: what is found here is still there then.
    for part in q.chunks(shas):
        lookup.blobs.update(conn.execute(_lookup_blobs(len(part)), part))
    decided = decide(records, lookup)
    receipts = [r for r in decided if r is not None]
    rows = [
        (workstation, r.seq, r.id, r.body, r.prev, r.hash, r.sig, key_id, received_at)
        for r, receipt in zip(records, decided, strict=True)
        if receipt is not None and receipt.status is Status.STORED
    ]
    if not rows:
        return receipts
    if conn.executemany(INSERT_RECORD, rows).rowcount != len(rows):
        # BEGIN IMMEDIATE holds the write lock since the lookups: no other writer inserted one of
        # these ids meanwhile. Roll back and say so rather than answer from a wrong lookup.
        raise StorageError("sqlite: a record the lookups did not see was already stored")
    return receipts
