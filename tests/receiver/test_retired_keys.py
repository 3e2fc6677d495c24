"""A retired key is trusted for the backlog sealed before a re-key only: whoever holds it (a
leaked key) cannot add records from the new chain's start on, and the chain status names a chain
started under a key that was not the newest at that point (on a real receiver, SQLite and
PostgreSQL; the bound read in the storing transaction with two PostgreSQL receivers)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import aiohttp

from receiver.app import serve
from receiver.checks import Trust
from receiver.pg_store import INSERT_MANY
from receiver.storage import Checked, Storage
from receiver.trust import REPLACED, register_key
from tests.receiver.support import (
    VISIBLE_S,
    Workstation,
    chain,
    connection,
    rekeyed,
    send,
    storage_of,
)

STORED = ("stored", "")
RETIRED = ("rejected", "retired_key")


async def seqs(http: aiohttp.ClientSession, url: str, workstation: str) -> list[tuple[int, str]]:
    """The workstation's stored records by seq: (seq, id)."""
    async with http.get(f"{url}/v1/records", params={"workstation": workstation}) as resp:
        assert resp.status == 200
        return [(r["seq"], r["id"]) for r in (await resp.json())["records"]]


async def test_a_retired_key_seals_nothing_from_the_new_chains_start_on(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path
) -> None:
    old = ws.records(5)
    assert await send(http, url, ws, old[:3]) == [STORED] * 3
    new = rekeyed(ws)
    register_key(trust_dir, "ws-1", new.key.public_key())
    fresh = new.records(2)  # seqs 6 and 7
    assert await send(http, url, new, fresh) == [STORED] * 2
    # The backlog sealed before the re-key still arrives after the new chain's first records.
    assert await send(http, url, ws, old[3:]) == [STORED] * 2
    # Whoever holds the retired key: a chain started with it after the re-key, as a re-key
    # looks, and its old chain sealed on are refused; a resend of the backlog is not.
    forger = Workstation("ws-1", ws.key, next_seq=8)
    assert await send(http, url, forger, forger.records(2)) == [RETIRED] * 2
    sealed_on = ws.records(1)  # seq 6, linked to seq 5
    assert await send(http, url, ws, old[4:] + sealed_on) == [("duplicate", ""), RETIRED]
    assert await seqs(http, url, "ws-1") == [(r.seq, r.id) for r in old + fresh]
    status = await chain(http, url, "ws-1")
    assert (status["chain_starts"], status["replaced_key_starts"]) == ([1, 6], [])
    assert status["breaks"] == []


async def test_a_retired_key_without_stored_records_is_bounded_by_the_current_key(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path
) -> None:
    backlog = ws.records(3)  # never delivered before the re-key
    new = rekeyed(ws)
    register_key(trust_dir, "ws-1", new.key.public_key())
    assert await send(http, url, new, new.records(2)) == [STORED] * 2  # seqs 4 and 5
    at_start = Workstation("ws-1", ws.key, next_seq=4)
    assert await send(http, url, at_start, at_start.records(1)) == [RETIRED]
    assert await send(http, url, ws, backlog) == [STORED] * 3
    far = Workstation("ws-1", ws.key, next_seq=100)
    assert await send(http, url, far, far.records(1)) == [RETIRED]
    assert [seq for seq, _ in await seqs(http, url, "ws-1")] == [1, 2, 3, 4, 5]


async def test_a_key_retired_two_re_keys_ago_is_bounded_by_every_key_after_it(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path
) -> None:
    backlog = ws.records(3)  # key A: never delivered before the re-keys
    b = rekeyed(ws)
    register_key(trust_dir, "ws-1", b.key.public_key())
    assert await send(http, url, b, b.records(3)) == [STORED] * 3  # seqs 4 to 6
    b_backlog = b.records(1)  # seq 7, not delivered before the next re-key
    c = rekeyed(b)
    register_key(trust_dir, "ws-1", c.key.public_key())  # current, nothing stored under it yet
    # A's records from B's first seq on, after its range or inside it as chain starts.
    for seq in (50, 4, 5):
        forged = Workstation("ws-1", ws.key, next_seq=seq)
        assert await send(http, url, forged, forged.records(1)) == [RETIRED]
    assert await send(http, url, ws, backlog) == [STORED] * 3
    assert await send(http, url, ws, ws.records(1)) == [RETIRED]  # A sealing on at seq 4
    # B's own backlog (seq 7) still arrives: nothing is stored under C yet.
    assert await send(http, url, b, b_backlog) == [STORED]
    assert await send(http, url, c, c.records(2)) == [STORED] * 2  # seqs 8 and 9
    assert await send(http, url, b, b.records(1)) == [RETIRED]  # seq 10
    far = Workstation("ws-1", ws.key, next_seq=60)
    assert await send(http, url, far, far.records(1)) == [RETIRED]
    assert [seq for seq, _ in await seqs(http, url, "ws-1")] == list(range(1, 10))


async def test_a_trust_directory_without_the_key_order_keeps_the_rule_of_before(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path
) -> None:
    """Keys retired before the order was recorded: only the current key is known to be newer
    than a retired key without stored records, and for one with stored records, any key whose
    first record comes after its first."""
    ws.records(3)  # key A: seqs 1 to 3, never delivered
    b = rekeyed(ws)
    register_key(trust_dir, "ws-1", b.key.public_key())
    assert await send(http, url, b, b.records(3)) == [STORED] * 3  # seqs 4 to 6
    c = rekeyed(b)
    register_key(trust_dir, "ws-1", c.key.public_key())
    shutil.rmtree(trust_dir / REPLACED)
    # What the order bounds (the test above) is stored: the current key C has stored nothing.
    far = Workstation("ws-1", ws.key, next_seq=50)
    assert await send(http, url, far, far.records(1)) == [STORED]
    assert await send(http, url, c, c.records(2)) == [STORED] * 2  # seqs 7 and 8
    assert await send(http, url, b, b.records(1)) == [RETIRED]  # B sealing on at seq 7
    assert [seq for seq, _ in await seqs(http, url, "ws-1")] == [4, 5, 6, 7, 8, 50]


def checked(station: Workstation, count: int) -> list[Checked]:
    """The next records of `station`, as the receiver's checks pass them to the storage."""
    return [Checked(r.id, r.seq, r.body, r.prev, r.hash, r.sig) for r in station.records(count)]


async def test_a_chain_started_under_a_replaced_key_is_reported(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path, storage: Storage
) -> None:
    assert await send(http, url, ws, ws.records(3)) == [STORED] * 3
    new = rekeyed(ws)
    register_key(trust_dir, "ws-1", new.key.public_key())
    assert await send(http, url, new, new.records(2)) == [STORED] * 2  # seqs 4 and 5
    # The old key registered again (a restored backup) starts a chain of its own at seq 6.
    register_key(trust_dir, "ws-1", ws.key.public_key())
    restored = Workstation("ws-1", ws.key, next_seq=6)
    assert await send(http, url, restored, restored.records(2)) == [STORED] * 2
    status = await chain(http, url, "ws-1")
    assert (status["chain_starts"], status["replaced_key_starts"]) == ([1, 4, 6], [6])
    assert status["breaks"] == []
    # What a receiver of an earlier release stored from a leaked key: a retired key's chain
    # started after the new key's, stored as if the key were current.
    other = Workstation("ws-2")
    await storage.ingest("ws-2", other.key_id, checked(other, 2), 0.0)
    renewed = rekeyed(other)
    await storage.ingest("ws-2", renewed.key_id, checked(renewed, 2), 0.0)
    leaked = Workstation("ws-2", other.key, next_seq=10)
    await storage.ingest("ws-2", other.key_id, checked(leaked, 1), 0.0)
    status = await chain(http, url, "ws-2")
    assert (status["chain_starts"], status["replaced_key_starts"]) == ([1, 3, 10], [10])


async def test_the_bound_is_read_in_the_transaction_that_stores(
    tmp_path: Path, schema: str, trust_dir: Path, ws: Workstation
) -> None:
    """One PostgreSQL receiver stores the new chain's first record while another is handed a
    record sealed with the retired key after it: the second waits for the first to commit and
    refuses it, whatever it could read of the database before."""
    async with (
        storage_of("postgres", tmp_path, schema) as a,
        storage_of("postgres", tmp_path, schema) as b,
        serve(a, Trust(trust_dir)) as where_a,
        serve(b, Trust(trust_dir)) as where_b,
        aiohttp.ClientSession() as http,
        connection(schema) as writer,
    ):
        assert await send(http, where_a.url, ws, ws.records(3)) == [STORED] * 3
        new = rekeyed(ws)
        register_key(trust_dir, "ws-1", new.key.public_key())
        first = new.records(1)[0]  # seq 4
        # A receiver's transaction for the workstation, as `PostgresStorage.store_batch` runs it.
        cur = await writer.execute(
            "SELECT hashtextextended(%s, 0)", (f"midas-receiver/{schema}/ws-1",)
        )
        row = await cur.fetchone()
        assert row is not None
        lock = int(row[0]) & (2**64 - 1)
        await writer.execute("SELECT pg_advisory_xact_lock(%s)", (row[0],))
        values = "(%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        fields = (first.seq, first.id, first.body, first.prev, first.hash, first.sig)
        await writer.execute(INSERT_MANY + values, ("ws-1", *fields, new.key_id, 0.0))
        forger = Workstation("ws-1", ws.key, next_seq=10)
        forged = asyncio.create_task(send(http, where_b.url, forger, forger.records(1)))
        try:
            async with asyncio.timeout(VISIBLE_S):
                while True:  # until the other receiver waits for the workstation's lock
                    cur = await writer.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND NOT granted AND classid::bigint = %s AND objid::bigint = %s"
                        " AND objsubid = 1",
                        (lock >> 32, lock & (2**32 - 1)),
                    )
                    waiting = await cur.fetchone()
                    if waiting is not None and waiting[0] > 0:
                        break
                    await asyncio.sleep(0.02)
        except BaseException:
            forged.cancel()  # the wait failed: the test fails, with no task left behind
            raise
        await writer.commit()
        assert await forged == [RETIRED]
        assert [seq for seq, _ in await seqs(http, where_b.url, "ws-1")] == [1, 2, 3, 4]
