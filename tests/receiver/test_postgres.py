"""Several receivers sharing one PostgreSQL database: one row per record id, whoever wins."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
from psycopg import sql

from edge.wire import receipts_decoder
from receiver.app import serve
from receiver.checks import Trust
from receiver.pg_store import PostgresStorage
from tests.receiver.support import Workstation, gz, postgres_dsn, storage_of

GZIP = {"Content-Encoding": "gzip"}


@contextlib.asynccontextmanager
async def two_receivers(
    tmp_path: Path, schema: str, trust_dir: Path
) -> AsyncIterator[tuple[str, str]]:
    async with (
        storage_of("postgres", tmp_path, schema) as a,
        storage_of("postgres", tmp_path, schema) as b,
        serve(a, Trust(trust_dir)) as where_a,
        serve(b, Trust(trust_dir)) as where_b,
    ):
        yield where_a.url, where_b.url


async def post(http: aiohttp.ClientSession, url: str, data: bytes) -> list[tuple[str, str, str]]:
    async with http.post(f"{url}/v1/batches", data=data, headers=GZIP) as resp:
        assert resp.status == 200, await resp.text()
        receipts = receipts_decoder.decode(await resp.read()).receipts
    return [(r.id, r.status.value, r.reason) for r in receipts]


def rows(schema: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(postgres_dsn(), connect_timeout=3) as conn:
        query = sql.SQL("SELECT COUNT(*), COUNT(DISTINCT id) FROM {}.records").format(
            sql.Identifier(schema)
        )
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def test_same_batch_to_two_receivers_at_once_is_stored_once(
    tmp_path: Path, schema: str, trust_dir: Path, ws: Workstation
) -> None:
    records = ws.records(200)
    data = gz(ws.batch(records))
    async with two_receivers(tmp_path, schema, trust_dir) as urls, aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(post(http, u, data) for u in urls * 3))
    outcomes: dict[str, Counter[str]] = {r.id: Counter() for r in records}
    for answer in answers:
        for rid, status, reason in answer:
            assert reason == ""
            outcomes[rid][status] += 1
    assert all(c == Counter(stored=1, duplicate=5) for c in outcomes.values())
    assert rows(schema) == (200, 200)


async def test_one_id_from_two_workstations_at_once_is_one_row(
    tmp_path: Path, schema: str, trust_dir: Path, ws: Workstation
) -> None:
    other = Workstation("ws-2")
    other.trust(trust_dir)
    mine = ws.records(100)
    # Another workstation's records under the same ids: different hashes, so conflicts.
    theirs = [replace(r, id=m.id) for r, m in zip(other.records(100), mine, strict=True)]
    async with (
        two_receivers(tmp_path, schema, trust_dir) as (a, b),
        aiohttp.ClientSession() as http,
    ):
        first, second = await asyncio.gather(
            post(http, a, gz(ws.batch(mine))), post(http, b, gz(other.batch(theirs)))
        )
    for (rid, s1, r1), (rid2, s2, r2) in zip(first, second, strict=True):
        assert rid == rid2
        assert sorted([(s1, r1), (s2, r2)]) == [("rejected", "conflict"), ("stored", "")]
    assert rows(schema) == (100, 100)


async def test_receivers_starting_together_create_the_schema_once(schema: str) -> None:
    stores = [PostgresStorage(postgres_dsn(), schema=schema, max_size=2) for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        for store in stores:
            await store.ping()
    finally:
        for store in stores:
            await store.close()
    assert rows(schema) == (0, 0)
