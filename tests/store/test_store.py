"""The durable store: group commit, integrity at open, migrations, blobs, quota."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from edge import records
from edge.errors import StorageFullError, StoreError, StoreVersionError
from edge.records import BlobRef, Record
from edge.store import Store
from edge.store.db import _salvage_last_seq
from edge.store.schema import LATEST, MIGRATIONS
from edge.store.writer import Statement
from tests.helpers import make_record


@pytest.fixture
async def store(data_dir: Path) -> AsyncIterator[Store]:
    async with Store(data_dir, quota=1 << 40, min_free=0, sinks=[("nas", True)]) as st:
        writer = asyncio.create_task(st.run_writer())
        yield st
        await st.stop_writer()
        await writer


async def append_all(store: Store, items: list[Record]) -> list[Record]:
    futures = [await store.append(r) for r in items]
    return list(await asyncio.gather(*futures))


async def test_records_are_durable_in_order_with_group_commit(store: Store, data_dir: Path) -> None:
    committed = await append_all(store, [make_record(i) for i in range(2000)])
    assert [r.seq for r in committed] == list(range(1, 2001))
    # A burst is committed in far fewer transactions than records.
    assert store.writer.commits < 200
    # Another connection sees every record, byte-identical to what was acknowledged.
    conn = sqlite3.connect(data_dir / "records.db")
    rows = conn.execute("SELECT seq, id, body FROM records ORDER BY seq").fetchall()
    deliveries = conn.execute(
        "SELECT count(*) FROM deliveries WHERE sink='nas' AND state='pending'"
    )
    assert deliveries.fetchone()[0] == 2000
    conn.close()
    assert len(rows) == 2000
    assert records.decode(rows[5][2]) == committed[5]
    assert await store.get_body(committed[7].id) == records.encode(committed[7])
    page = await store.bodies_after(1990, 100)
    assert [seq for seq, _ in page] == list(range(1991, 2001))


async def test_pragmas_are_durable(store: Store, data_dir: Path) -> None:
    await append_all(store, [make_record(1)])
    conn = sqlite3.connect(data_dir / "records.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    conn.close()
    assert store.writer._conn is not None
    async with store.writer._conn.execute("PRAGMA synchronous") as cur:
        assert (await cur.fetchone()) == (2,)  # FULL


async def test_sequence_continues_after_reopen(data_dir: Path) -> None:
    for expected_first in (1, 4):
        async with Store(data_dir, quota=1 << 40, min_free=0) as st:
            writer = asyncio.create_task(st.run_writer())
            done = await append_all(st, [make_record(i) for i in range(3)])
            await st.stop_writer()
            await writer
        assert done[0].seq == expected_first


async def test_corrupt_database_is_quarantined_not_deleted(data_dir: Path) -> None:
    async with Store(data_dir, quota=1 << 40, min_free=0) as st:
        writer = asyncio.create_task(st.run_writer())
        await append_all(st, [make_record(i) for i in range(50)])
        await st.stop_writer()
        await writer
    db = data_dir / "records.db"
    garbage = os.urandom(4096)
    with db.open("r+b") as f:
        f.seek(0)
        f.write(garbage)
    async with Store(data_dir, quota=1 << 40, min_free=0) as st:
        assert st.quarantined is not None
        assert st.quarantined.exists()
        assert st.quarantined.read_bytes()[:4096] == garbage  # kept as it was
        assert await st.count() == 0
        writer = asyncio.create_task(st.run_writer())
        (fresh,) = await append_all(st, [make_record(99)])
        await st.stop_writer()
        await writer
    assert fresh.seq >= 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_damaged_pages_are_quarantined_and_sequence_survives(data_dir: Path) -> None:
    async with Store(data_dir, quota=1 << 40, min_free=0) as st:
        writer = asyncio.create_task(st.run_writer())
        await append_all(st, [make_record(i, size=4000) for i in range(300)])
        await st.stop_writer()
        await writer
    db = data_dir / "records.db"
    size = db.stat().st_size
    with db.open("r+b") as f:  # wreck an interior page, keep the header readable
        f.seek(size // 2)
        f.write(b"\xff" * 4096)
    async with Store(data_dir, quota=1 << 40, min_free=0) as st:
        assert st.quarantined is not None
        salvaged = _salvage_last_seq(st.quarantined)
        writer = asyncio.create_task(st.run_writer())
        (fresh,) = await append_all(st, [make_record(1)])
        await st.stop_writer()
        await writer
    # Sequence numbers are not reused across a quarantine when the old maximum is readable.
    assert salvaged == 300
    assert fresh.seq == 301


async def test_newer_schema_is_refused(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "records.db") as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(StoreVersionError, match="refusing to downgrade"):
        async with Store(data_dir, quota=1 << 40, min_free=0):
            pass


async def test_blobs_are_atomic_and_deduplicated(store: Store, data_dir: Path) -> None:
    image = os.urandom(50_000)
    ref = await store.put_blob(image, "image/jpeg", role="portrait")
    again = await store.put_blob(image, "image/jpeg", role="portrait")
    assert ref == again
    assert store.read_blob_path(ref.sha256).read_bytes() == image
    assert oct(store.read_blob_path(ref.sha256).stat().st_mode & 0o777) == "0o600"
    assert not list((data_dir / "blobs").rglob(".tmp-*"))
    record = make_record(1)
    (done,) = await append_all(store, [msgspec.structs.replace(record, blobs=[ref])])
    assert done.blobs == [BlobRef(ref.sha256, "image/jpeg", 50_000, "portrait")]
    with sqlite3.connect(data_dir / "records.db") as conn:
        linked = conn.execute("SELECT sha256, role FROM record_blobs WHERE seq=?", (done.seq,))
        assert linked.fetchall() == [(ref.sha256, "portrait")]


async def test_quota_refuses_loudly_and_recovers(data_dir: Path) -> None:
    async with Store(data_dir, quota=1 << 40, min_free=0) as st:
        transitions: list[str | None] = []
        st.on_space(transitions.append)
        writer = asyncio.create_task(st.run_writer())
        await append_all(st, [make_record(i) for i in range(10)])
        st.quota = st.usage().total  # full now
        with pytest.raises(StorageFullError, match="quota"):
            await append_all(st, [make_record(11)])
        with pytest.raises(StorageFullError):
            await st.put_blob(b"x" * 100, "image/jpeg", role="portrait")
        st.quota = 1 << 40  # space returns
        (ok,) = await append_all(st, [make_record(12)])
        assert ok.seq == 11  # the refused capture did not consume a sequence number
        assert transitions == ["storage quota reached", None]
        await st.stop_writer()
        await writer


async def test_min_free_guard(data_dir: Path) -> None:
    async with Store(data_dir, quota=1 << 40, min_free=1 << 62) as st:
        writer = asyncio.create_task(st.run_writer())
        with pytest.raises(StorageFullError, match="free disk space"):
            await append_all(st, [make_record(1)])
        await st.stop_writer()
        await writer


async def test_backpressure_bounds_the_writer_queue(data_dir: Path) -> None:
    async with Store(data_dir, quota=1 << 40, min_free=0, queue_size=4) as st:
        # No writer running: the fifth append must wait, not grow the queue.
        for i in range(4):
            await st.append(make_record(i))
        blocked = asyncio.create_task(st.append(make_record(5)))
        await asyncio.sleep(0.05)
        assert not blocked.done()
        assert st.writer.depth() == 4
        writer = asyncio.create_task(st.run_writer())
        await asyncio.wait_for(blocked, 5)
        await st.stop_writer()
        await writer
        assert await st.count() == 5


async def test_sqlite_full_is_a_refusal_and_the_writer_survives(store: Store) -> None:
    """SQLITE_FULL from the engine (here via max_page_count) refuses the batch, loses nothing."""
    await append_all(store, [make_record(i) for i in range(5)])
    conn = store.writer._conn
    async with conn.execute("PRAGMA page_count") as cur:
        row = await cur.fetchone()
    assert row is not None
    await conn.execute(f"PRAGMA max_page_count = {row[0]}")
    with pytest.raises(StorageFullError, match="disk is full"):
        await append_all(store, [make_record(100, size=64_000)])
    await conn.execute("PRAGMA max_page_count = 4294967294")
    (ok,) = await append_all(store, [make_record(101)])
    assert ok.seq == 6
    assert await store.count() == 6
    assert await store.integrity_ok()


async def test_a_sink_removed_from_the_config_is_no_longer_required(data_dir: Path) -> None:
    both = [("nas", True), ("region", True)]
    async with Store(data_dir, quota=1 << 30, min_free=0, sinks=both):
        pass
    async with Store(data_dir, quota=1 << 30, min_free=0, sinks=[("nas", True)]) as store:
        rows = await store.query("SELECT name, required FROM sinks ORDER BY name")
    assert rows == [("nas", 1), ("region", 0)]
    async with Store(data_dir, quota=1 << 30, min_free=0, sinks=both) as store:
        rows = await store.query("SELECT name, required FROM sinks ORDER BY name")
    assert rows == [("nas", 1), ("region", 1)]  # configured again: required again


async def test_a_v1_store_keeps_its_deliveries_and_learns_the_dropped_state(
    data_dir: Path,
) -> None:
    # Migration 3 rebuilds the deliveries table (SQLite cannot alter a CHECK): rows must survive.
    with sqlite3.connect(data_dir / "records.db") as conn:
        for statement in MIGRATIONS[0][1]:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO records (seq, id, captured_at, device, kind, body)"
            " VALUES (1, 'r-1', '2026-01-01T00:00:00.000Z', 'reader', 'document', x'7b7d')"
        )
        conn.execute("INSERT INTO sinks VALUES ('nas', 1, '2026-01-01T00:00:00.000Z')")
        conn.execute(
            "INSERT INTO deliveries (sink, seq, state, attempts, last_error)"
            " VALUES ('nas', 1, 'dead', 3, 'conflict')"
        )
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    async with Store(data_dir, quota=1 << 30, min_free=0, sinks=[("nas", True)]) as store:
        rows = await store.query("SELECT sink, seq, state, attempts, last_error FROM deliveries")
        assert rows == [("nas", 1, "dead", 3, "conflict")]
    with sqlite3.connect(data_dir / "records.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        conn.execute("UPDATE deliveries SET state = 'dropped' WHERE seq = 1")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE deliveries SET state = 'lost' WHERE seq = 1")
    conn.close()


async def test_apply_returns_the_rows_each_caller_changed(store: Store) -> None:
    await append_all(store, [make_record(i) for i in range(5)])
    update = (
        "UPDATE deliveries SET attempts = attempts + 1 WHERE sink = 'nas' AND seq BETWEEN ? AND ?"
    )
    # Submitted together, the writer may apply them in one transaction: each gets its own count,
    # also when a bad one among them makes the writer apply each alone.
    for bad in (False, True):
        ops: list[list[Statement]] = [
            [(update, [(1, 2)])],
            [(update, [(3, 3), (4, 5)]), (update, [(9, 9)])],
            [(update, [(7, 8)])],
        ]
        if bad:
            ops.insert(1, [("UPDATE no_such_table SET x = 1", [()])])
        counts = await asyncio.gather(*(store.apply(op) for op in ops), return_exceptions=True)
        if bad:
            assert isinstance(counts.pop(1), StoreError)
        assert counts == [2, 3, 0]
    rows = await store.query("SELECT seq, attempts FROM deliveries ORDER BY seq")
    assert rows == [(seq, 2) for seq in range(1, 6)]
