"""GET /v1/records without a workstation: every record exactly once to a consumer paging with
`next`, however writers interleave (PostgreSQL shared by several receivers), and the migration
that brings an existing PostgreSQL database to it."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest
from psycopg import sql

from receiver import SetupError
from receiver.app import serve
from receiver.checks import Trust
from receiver.pg_schema import LATEST, SCHEMA
from receiver.pg_store import INSERT_MANY, PostgresStorage
from tests.receiver.support import (
    Workstation,
    connection,
    drain,
    gz,
    page,
    postgres_dsn,
    storage_of,
)

GZIP = {"Content-Encoding": "gzip"}


async def insert(conn: psycopg.AsyncConnection[Any], record_id: str, seq: int) -> None:
    """A row as a receiver inserts it (the same statement), in `conn`'s open transaction."""
    values = "(%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    row = ("ws-raw", seq, record_id, b"{}", bytes(32), bytes(32), bytes(64), "0" * 16, 0.0)
    await conn.execute(INSERT_MANY + values, row)


async def post(http: aiohttp.ClientSession, url: str, station: Workstation, count: int) -> None:
    data = gz(station.batch(station.records(count)))
    async with http.post(f"{url}/v1/batches", data=data, headers=GZIP) as resp:
        assert resp.status == 200, await resp.text()


async def test_a_row_committed_after_a_page_passed_its_number_is_listed_later(
    tmp_path: Path, schema: str, trust_dir: Path, ws: Workstation
) -> None:
    async with (
        storage_of("postgres", tmp_path, schema) as storage,
        serve(storage, Trust(trust_dir)) as where,
        aiohttp.ClientSession() as http,
        connection(schema) as late,
    ):
        await post(http, where.url, ws, 1)
        first, cursor = await drain(http, where.url, None, 1)
        # Another writer takes the next number and has not committed when a receiver stores
        # two more records and a consumer reads on past them.
        await insert(late, "late-1", 1)
        await post(http, where.url, ws, 2)
        cur = await late.execute("SELECT n FROM records WHERE id = 'late-1'")
        row = await cur.fetchone()
        assert row is not None
        stored = (await storage.records("ws-1", 0, 10)).records
        assert row[0] < min(r.n for r in stored[1:])  # a lower number, committing later
        records, after = await page(http, where.url, cursor)
        assert (records, after) == ([], cursor)  # held back behind the open transaction
        await late.commit()
        rest, _ = await drain(http, where.url, cursor, 3)
        again, _ = await drain(http, where.url, None, 4, limit=1)
    assert rest == ["late-1", stored[1].id, stored[2].id]
    assert first + rest == again
    assert sorted(again) == sorted([*(r.id for r in stored), "late-1"])


async def test_receivers_and_late_committers_at_once_list_every_record_once(
    tmp_path: Path, schema: str, trust_dir: Path
) -> None:
    """Two receivers store batches at once while other writers hold rows of lower numbers and
    commit them in a shuffled order, a consumer reading on between every commit."""
    shuffle = random.Random(7)  # the order of commits, not cryptography
    stations = [Workstation(f"ws-{i}") for i in range(4)]
    for station in stations:
        station.trust(trust_dir)
    async with (
        storage_of("postgres", tmp_path, schema) as a,
        storage_of("postgres", tmp_path, schema) as b,
        serve(a, Trust(trust_dir)) as where_a,
        serve(b, Trust(trust_dir)) as where_b,
        aiohttp.ClientSession() as http,
        connection(schema) as w1,
        connection(schema) as w2,
        connection(schema) as w3,
    ):
        urls, late = [where_a.url, where_b.url], [w1, w2, w3]
        seen: list[str] = []
        cursor: str | None = None

        async def read_on() -> None:
            """Every page listable now."""
            nonlocal cursor
            while True:
                records, cursor = await page(http, urls[1], cursor, limit=7)
                seen.extend(r["id"] for r in records)
                if not records:
                    return

        total = 0
        for round_ in range(6):
            for i, conn in enumerate(late):
                await insert(conn, f"late-{round_}-{i}", round_ + 1)
            await asyncio.gather(
                *(post(http, urls[(round_ + i) % 2], s, 5) for i, s in enumerate(stations))
            )
            total += len(late) + 5 * len(stations)
            await read_on()
            for conn in shuffle.sample(late, len(late)):
                await conn.commit()
                await read_on()
        rest, _ = await drain(http, urls[0], cursor, total - len(seen))
    counts = Counter(seen + rest)
    assert len(counts) == total
    assert set(counts.values()) == {1}


async def _v1_database(schema: str, count: int) -> list[str]:
    """A database as receivers left it before the schema had versions: `count` rows."""
    ids = [f"old-{i}" for i in range(count)]
    async with connection(schema) as conn:
        await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        await conn.execute(SCHEMA)
        for seq, rid in enumerate(ids, 1):
            await insert(conn, rid, seq)
        await conn.commit()
    return ids


async def test_an_existing_database_is_migrated_once_and_old_cursors_go_on(
    schema: str, trust_dir: Path, ws: Workstation
) -> None:
    old = await _v1_database(schema, 3)
    stores = [PostgresStorage(postgres_dsn(), schema=schema, max_size=2) for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))  # receivers starting together
        async with serve(stores[0], Trust(trust_dir)) as where, aiohttp.ClientSession() as http:
            await post(http, where.url, ws, 2)
            ids, _ = await drain(http, where.url, None, 5)
            # A consumer's cursor from before (a plain `n`): on after that row.
            legacy, _ = await drain(http, where.url, "1", 4)
            records, _ = await page(http, where.url, None)
    finally:
        for store in stores:
            await store.close()
    new = [r["id"] for r in records if r["workstation"] == "ws-1"]
    assert ids == [*old, *new]
    assert legacy == ids[1:]
    assert [r["n"] for r in records[:3]] == [1, 2, 3]
    async with connection(schema) as conn:
        cur = await conn.execute("SELECT version FROM schema_version ORDER BY version")
        # Each step once, whichever of the receivers applied it.
        assert [v for (v,) in await cur.fetchall()] == list(range(2, LATEST + 1))
        cur = await conn.execute("SELECT count(*) FROM records WHERE xid = '0'::xid8")
        assert await cur.fetchone() == (3,)


async def test_a_plain_number_goes_on_after_its_row_not_after_the_migration(
    tmp_path: Path, schema: str, trust_dir: Path, ws: Workstation
) -> None:
    """A consumer coming from a receiver of API 1.0 (its `next` a plain `n`) is listed every
    record stored after that row, not every record stored since the migration."""
    old = await _v1_database(schema, 2)
    async with (
        storage_of("postgres", tmp_path, schema) as storage,
        serve(storage, Trust(trust_dir)) as where,
        aiohttp.ClientSession() as http,
    ):
        for _ in range(4):  # four transactions
            await post(http, where.url, ws, 1)
        # Every row listable: no transaction older than theirs runs on the server any more.
        ids, _ = await drain(http, where.url, None, 6)
        records, _ = await page(http, where.url, None)
        number = {r["id"]: r["n"] for r in records}
        assert ids[:2] == old
        for i, rid in enumerate(ids):
            listed, _ = await page(http, where.url, str(number[rid]))
            assert [r["id"] for r in listed] == ids[i + 1 :], i
        # A number no row has yet: nothing now, then exactly what is stored next.
        listed, cursor = await page(http, where.url, str(max(number.values()) + 1000))
        assert listed == []
        await post(http, where.url, ws, 1)
        more, _ = await drain(http, where.url, cursor, 1)
        last = await storage.records("ws-1", 4, 10)
    assert more == [r.id for r in last.records]


async def test_a_database_of_a_newer_receiver_is_refused(tmp_path: Path, schema: str) -> None:
    async with storage_of("postgres", tmp_path, schema):
        pass
    async with connection(schema) as conn:
        await conn.execute("INSERT INTO schema_version VALUES (%s, 0)", (LATEST + 1,))
        await conn.commit()
    store = PostgresStorage(postgres_dsn(), schema=schema, max_size=1)
    with pytest.raises(SetupError, match=f"schema version {LATEST + 1}, newer"):
        await store.open()
    await store.close()


async def test_cursors_are_tokens_of_one_kind_and_bad_ones_are_refused(
    http: aiohttp.ClientSession, url: str, ws: Workstation, backend: str
) -> None:
    await post(http, url, ws, 3)
    ids, cursor = await drain(http, url, None, 3, limit=2)
    xid, n = cursor.split(".")
    assert int(n) == 3
    assert (xid == "0") is (backend == "sqlite")  # SQLite's single writer commits in n order
    records, after = await page(http, url, cursor)
    assert (records, after) == ([], cursor)
    if backend == "sqlite":  # a plain `n`, as `next` was before tokens
        legacy, _ = await drain(http, url, "1", 2)
        assert legacy == ids[1:]
    arabic_one = "\u0661"  # a digit to int(), not to a cursor
    for bad in ("-1", "x", "1.2.3", "1.", ".1", " 1", "+1", arabic_one, f"{2**64}.1", f"{2**63}"):
        async with http.get(f"{url}/v1/records", params={"after": bad}) as resp:
            assert (resp.status, await resp.json()) == (400, {"error": "bad_after"}), bad
