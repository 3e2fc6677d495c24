"""PostgreSQL storage (`--db postgresql://...`): several receiver processes may share one database.

Each batch is one transaction that first takes a transaction-scoped advisory lock on its
workstation, so chain linkage sees what another process committed before. Record ids carry a
unique constraint and rows go in with `ON CONFLICT DO NOTHING`: a row that another process
inserted first (the same id from another workstation is not covered by the lock) is answered
from the row that won — duplicate or conflict — never with an error and never twice.

The listing of every record runs in commit order. `n` is not: a transaction that took a lower
`n` may commit after a reader passed a higher one. So each row keeps the id of the transaction
that inserted it (`xid`, a 64-bit xid8 that never wraps), and a listing shows only rows whose
transaction is older than the oldest one still running when its snapshot was taken
(`pg_snapshot_xmin`), ordered by (xid, n). Every transaction below that horizon has ended and
any transaction id assigned later is above it, so the rows below it are final: a row that
appears later sorts after every cursor already handed out. (The listing itself takes no xid.)

The schema and its migrations are `receiver.pg_schema`'s.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql as psql
from psycopg_pool import AsyncConnectionPool

from edge.wire import GENESIS, Receipt, Status
from receiver import StorageError
from receiver import sql as q
from receiver.pg_schema import create_schema
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
    answer_existing,
    chain_status,
    decide,
    listing_page,
    publish_decision,
    record_out,
    seq_page,
    wanted,
)

log = logging.getLogger("receiver")

CONNECT_TIMEOUT_S = 10.0  # opening the pool, and one new connection
POOL_TIMEOUT_S = 30.0  # waiting for a free connection of the pool
STATEMENT_TIMEOUT_MS = 30_000
POOL_MAX = 8
INSERT_ROWS = 500  # rows per INSERT statement (9 parameters each; PostgreSQL allows 65535)

# The text of xid under another name: ORDER BY xid would otherwise sort that text.
LISTING = (
    "SELECT n, workstation, seq, id, body, prev, hash, sig, key_id, received_at, xid::text AS xt "
    "FROM records WHERE (xid, n) > (%s::xid8, %s::bigint) "
    "AND xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid, n LIMIT %s"
)
# Where a plain `n` (a `next` of API 1.0, which listed by n) goes on: before the oldest xid of
# the rows after `n` and of the transactions still running, so every row stored after `n` is
# listed (also one whose transaction took its xid before the row `n`'s), and the rows listed
# again are those of transactions that overlapped. Rows of before the migration (xid 0) after
# `n` make it (0, n): they are listed by n, as before.
PLAIN_N_XID = (
    "SELECT LEAST((SELECT xid FROM records WHERE n > %s ORDER BY xid LIMIT 1),"
    " pg_snapshot_xmin(pg_current_snapshot()))::text"
)
INSERT_MANY = (
    "INSERT INTO records (workstation, seq, id, body, prev, hash, sig, key_id, received_at) VALUES "
)


def pg(query: str) -> str:
    """The shared SQL with PostgreSQL placeholders."""
    return query.replace("?", "%s")


async def _retired_from(
    conn: psycopg.AsyncConnection[Any], workstation: str, key_id: str, newer: Newer
) -> int | None:
    """`Lookup.retired_from` for a batch under the retired key `key_id` (`sql.KEY_FIRST_SEQ`)."""

    async def one(query: str, params: tuple[object, ...]) -> int | None:
        cur = await conn.execute(pg(query), params)
        row = await cur.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    first = await one(q.KEY_FIRST_SEQ, (workstation, key_id, 0))
    if first is not None and not newer.ordered:
        return await one(q.OTHER_KEY_AFTER, (workstation, workstation, workstation, first, key_id))
    bounds = [await one(q.KEY_FIRST_SEQ, (workstation, kid, first or 0)) for kid in newer.keys]
    return min((b for b in bounds if b is not None), default=None)


async def _lookup(
    conn: psycopg.AsyncConnection[Any],
    workstation: str,
    key_id: str,
    newer: Newer | None,
    records: Sequence[Checked],
) -> Lookup:
    """What `decide()` needs of the database, inside the batch's transaction (after its lock on
    the workstation: every batch of it another receiver stored before is seen)."""
    ids, preds, shas = wanted(records)
    lookup = Lookup()
    if newer is not None:
        lookup.retired_from = await _retired_from(conn, workstation, key_id, newer)
    if ids:
        cur = await conn.execute("SELECT id, seq, hash FROM records WHERE id = ANY(%s)", (ids,))
        for rid, seq, digest in await cur.fetchall():
            lookup.by_id[rid] = (seq, bytes(digest))
    if preds:
        cur = await conn.execute(
            "SELECT seq, hash FROM records WHERE workstation = %s AND seq = ANY(%s)",
            (workstation, preds),
        )
        for seq, digest in await cur.fetchall():
            lookup.at_seq.setdefault(seq, set()).add(bytes(digest))
    if shas:
        # Locked as a foreign key check locks: no receiver or operator deletes one of these
        # blobs before this transaction ends, so what is found here is still there at commit.
        cur = await conn.execute(
            "SELECT sha256, size FROM blobs WHERE sha256 = ANY(%s) FOR KEY SHARE", (shas,)
        )
        lookup.blobs.update((sha, int(size)) for sha, size in await cur.fetchall())
    return lookup


class PostgresStorage(Storage):
    """A psycopg connection pool on one database (and optionally one schema of it)."""

    def __init__(self, dsn: str, schema: str | None = None, max_size: int = POOL_MAX) -> None:
        self.dsn = dsn
        self.schema = schema
        self._pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=POOL_TIMEOUT_S,
            kwargs={"connect_timeout": int(CONNECT_TIMEOUT_S), "autocommit": True},
            configure=self._configure,
            name="receiver",
        )
        self._opened = False

    async def _configure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        if self.schema is not None:
            await conn.execute(
                psql.SQL("SET search_path TO {}").format(psql.Identifier(self.schema))
            )

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise StorageError(f"postgresql: {type(exc).__name__}: {exc}") from exc

    async def open(self) -> None:
        if self._opened:
            return
        try:
            await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise StorageError(f"postgresql: cannot connect ({type(exc).__name__})") from exc
        self._opened = True
        try:
            await self._create()
        except BaseException:
            await self.close()
            raise

    async def _create(self) -> None:
        async with self._conn() as conn:
            await create_schema(conn, self.schema)

    async def close(self) -> None:
        if self._opened:
            self._opened = False
            await self._pool.close()

    async def store_batch(
        self,
        workstation: str,
        key_id: str,
        newer: Newer | None,
        records: Sequence[Checked],
        received_at: float,
    ) -> list[Receipt]:
        async with self._conn() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"midas-receiver/{self.schema or ''}/{workstation}",),
            )
            lookup = await _lookup(conn, workstation, key_id, newer, records)
            receipts = decide(records, lookup)
            todo = [
                i for i, r in enumerate(receipts) if r is not None and r.status is Status.STORED
            ]
            inserted: set[str] = set()
            for part in q.chunks(todo, INSERT_ROWS):
                rows = [records[i] for i in part]
                values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
                params: list[object] = []
                for r in rows:
                    params += [workstation, r.seq, r.id, r.body, r.prev, r.hash, r.sig]
                    params += [key_id, received_at]
                insert = INSERT_MANY + values + " ON CONFLICT (id) DO NOTHING RETURNING id"
                cur = await conn.execute(insert, params)
                inserted.update(rid for (rid,) in await cur.fetchall())
            lost = [i for i in todo if records[i].id not in inserted]
            if lost:
                cur = await conn.execute(
                    "SELECT id, hash FROM records WHERE id = ANY(%s)",
                    ([records[i].id for i in lost],),
                )
                winners = {rid: bytes(digest) for rid, digest in await cur.fetchall()}
                for i in lost:
                    receipts[i] = answer_existing(records[i], winners[records[i].id])
            return [r for r in receipts if r is not None]

    async def put_blob(self, sha256: str, data: bytes, received_at: float) -> bool:
        async with self._conn() as conn:
            cur = await conn.execute(pg(q.INSERT_BLOB), (sha256, data, len(data), received_at))
            return cur.rowcount == 1

    async def has_blob(self, sha256: str) -> bool:
        async with self._conn() as conn:
            cur = await conn.execute(pg(q.HAS_BLOB), (sha256,))
            return await cur.fetchone() is not None

    async def get_blob(self, sha256: str) -> bytes | None:
        async with self._conn() as conn:
            cur = await conn.execute(pg(q.GET_BLOB), (sha256,))
            row = await cur.fetchone()
        return None if row is None else bytes(row[0])

    async def record(self, record_id: str) -> RecordOut | None:
        async with self._conn() as conn:
            cur = await conn.execute(pg(q.GET_RECORD), (record_id,))
            row = await cur.fetchone()
        return None if row is None else record_out(row)

    async def records(self, workstation: str, after: int, limit: int) -> RecordPage:
        async with self._conn() as conn:
            cur = await conn.execute(pg(q.PAGE_WORKSTATION), (workstation, after, limit))
            rows = await cur.fetchall()
        return seq_page(rows, after)

    async def listing(self, after: Cursor, limit: int) -> RecordPage:
        async with self._conn() as conn:
            if after.xid is None:
                cur = await conn.execute(PLAIN_N_XID, (after.n,))
                row = await cur.fetchone()
                xid = 0 if row is None else int(row[0])
                after = Cursor(xid, after.n if xid == 0 else 0)
            cur = await conn.execute(LISTING, (str(after.xid), after.n, limit))
            rows = await cur.fetchall()
        out = [record_out(r[:-1]) for r in rows]
        return listing_page(out, Cursor(int(rows[-1][-1]), out[-1].n) if rows else after)

    async def workstations(self) -> Workstations:
        async with self._conn() as conn:
            cur = await conn.execute(q.WORKSTATIONS)
            rows = await cur.fetchall()
        return Workstations([WorkstationOut(ws, int(c), int(s), float(t)) for ws, c, s, t in rows])

    async def chain(self, workstation: str) -> ChainStatus | None:
        async with self._conn() as conn, conn.transaction():
            # One snapshot for every part of the status, however many receivers write meanwhile.
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur = await conn.execute(pg(q.CHAIN_SUMMARY), (workstation,))
            summary = await cur.fetchone()
            if summary is None or not summary[0]:
                return None
            cur = await conn.execute(pg(q.CHAIN_GAPS), (workstation, MAX_GAPS + 1))
            gaps = [(int(a), int(b)) for a, b in await cur.fetchall()]
            cur = await conn.execute(pg(q.CHAIN_STARTS), (workstation, GENESIS, MAX_GAPS))
            starts = [int(s) for (s,) in await cur.fetchall()]
            cur = await conn.execute(
                pg(q.CHAIN_REPLACED_KEY_STARTS), (workstation, workstation, GENESIS, MAX_GAPS)
            )
            replaced = [int(s) for (s,) in await cur.fetchall()]
            cur = await conn.execute(pg(q.CHAIN_BREAKS), (workstation, GENESIS, GENESIS, MAX_GAPS))
            breaks = [int(s) for (s,) in await cur.fetchall()]
            cur = await conn.execute(pg(q.CHAIN_KEYS), (workstation, MAX_GAPS))
            keys = await cur.fetchall()
        count, first, last = summary
        return chain_status(
            workstation, int(count), int(first), int(last), gaps, starts, replaced, breaks, keys
        )

    async def publish_alert_list(
        self, version: int, sha256: str, body: bytes, published_at: float
    ) -> str:
        async with self._conn() as conn, conn.transaction():
            # One publisher at a time, so "older" and "conflict" see every committed list.
            await conn.execute("LOCK TABLE alert_lists IN EXCLUSIVE MODE")
            cur = await conn.execute(q.LATEST_ALERT_LIST)
            latest = await cur.fetchone()
            cur = await conn.execute(pg(q.ALERT_LIST_SHA), (version,))
            same = await cur.fetchone()
            decision = publish_decision(
                int(latest[0]) if latest else None, same[0] if same else None, sha256, version
            )
            if decision == "stored":
                await conn.execute(
                    pg(q.INSERT_ALERT_LIST), (version, sha256, len(body), body, published_at)
                )
                await conn.execute(pg(q.PRUNE_ALERT_LISTS), (KEEP_ALERT_LISTS,))
            return decision

    async def latest_alert_list(self) -> AlertListMeta | None:
        async with self._conn() as conn:
            cur = await conn.execute(q.LATEST_ALERT_LIST)
            row = await cur.fetchone()
        return None if row is None else AlertListMeta(int(row[0]), row[1], int(row[2]), row[3])

    async def alert_list_body(self, version: int) -> bytes | None:
        async with self._conn() as conn:
            cur = await conn.execute(pg(q.ALERT_LIST_BODY), (version,))
            row = await cur.fetchone()
        return None if row is None else bytes(row[0])

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.execute("SELECT 1")
