"""A record is stored only with the images its body references (real receiver, SQLite and
PostgreSQL): without one it gets no receipt until the image is there, with one of another size it
is rejected, with an image list that cannot be read it is rejected; records without images are
not affected, and a batch without images asks nothing of the blobs table."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from pathlib import Path

import aiohttp
import msgspec
import psycopg
import pytest
from psycopg import sql

from agent.http_sink import HttpSink
from agent.scheduler import SinkScheduler
from edge.config import ForwardingConfig, SinkConfig
from edge.records import BlobRef, encode
from edge.wire import Receipt
from receiver.app import serve
from receiver.checks import Trust, check
from receiver.sqlite_store import SqliteStorage
from receiver.storage import Storage
from tests.agent.support import Clock, Recorder, add_records, open_store, states, wait_for
from tests.helpers import make_record
from tests.receiver.support import Workstation, gz, postgres_dsn, storage_of
from tests.receiver.test_batches import send, statuses

IMAGE = b"\xff\xd8 portrait bytes " * 64
SHA = hashlib.sha256(IMAGE).hexdigest()


def body(*images: tuple[str, int]) -> bytes:
    """A record body as a workstation encodes it, referencing these (sha256, size) images."""
    refs = [
        BlobRef(sha256=sha, media_type="image/jpeg", size=size, role="portrait")
        for sha, size in images
    ]
    return encode(msgspec.structs.replace(make_record(), blobs=refs))


async def put(http: aiohttp.ClientSession, url: str, data: bytes) -> int:
    sha = hashlib.sha256(data).hexdigest()
    async with http.put(f"{url}/v1/blobs/{sha}", data=io.BytesIO(data)) as resp:
        return resp.status


def answered(receipts: list[Receipt]) -> list[tuple[str, str, str]]:
    return [(r.id, r.status.value, r.reason) for r in receipts]


async def test_a_record_whose_image_is_not_here_gets_no_receipt_until_it_is(
    http: aiohttp.ClientSession,
    url: str,
    ws: Workstation,
    storage: Storage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = ws.record(body())
    b = ws.record(body((SHA, len(IMAGE))))
    c = ws.record(body())
    with caplog.at_level(logging.INFO, logger="receiver"):
        first = await send(http, url, ws.batch([a, b, c]))
    assert answered(first) == [(a.id, "stored", ""), (c.id, "stored", "")]
    assert await storage.record(b.id) is None
    assert b.id in caplog.text and "1 held back" in caplog.text
    assert SHA not in caplog.text  # record ids only
    async with http.get(f"{url}/v1/workstations/ws-1/chain") as resp:
        assert (await resp.json())["gaps"] == [[2, 2]]
    assert await put(http, url, IMAGE) == 201
    again = await send(http, url, ws.batch([a, b, c]))
    assert answered(again) == [
        (a.id, "duplicate", ""),
        (b.id, "stored", ""),
        (c.id, "duplicate", ""),
    ]
    stored = await storage.record(b.id)
    assert stored is not None and stored.body == b.body.decode()


async def test_an_image_of_another_size_rejects_its_record(
    http: aiohttp.ClientSession, url: str, ws: Workstation, storage: Storage
) -> None:
    assert await put(http, url, IMAGE) == 201
    other = b"another image"
    wrong = ws.record(body((SHA, len(IMAGE) + 1)))
    # One image missing and one of another size: sending it again cannot help, so rejected.
    both = ws.record(body((hashlib.sha256(other).hexdigest(), len(other)), (SHA, 1)))
    right = ws.record(body((SHA, len(IMAGE))))
    receipts = await send(http, url, ws.batch([wrong, both, right]))
    assert statuses(receipts) == [
        ("rejected", "blob_size_mismatch"),
        ("rejected", "blob_size_mismatch"),
        ("stored", ""),
    ]
    assert await storage.record(wrong.id) is None
    assert await storage.record(both.id) is None


async def test_a_body_whose_image_list_cannot_be_read_is_rejected(
    http: aiohttp.ClientSession,
    url: str,
    ws: Workstation,
    storage: Storage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sha = "ab" * 32
    cases = [
        (b"not json", "bad_body"),
        (b'["blobs", []]', "bad_body"),
        (b'{"name":"DOE JOHN","blobs":null}', "bad_body"),
        (b'{"blobs":[{"size":1}]}', "bad_body"),
        (b'{"blobs":[{"sha256":"' + sha.upper().encode() + b'","size":1}]}', "bad_body"),
        (b'{"blobs":[{"sha256":"' + sha.encode() + b'","size":-1}]}', "bad_body"),
        (b'{"blobs":[{"sha256":"' + sha.encode() + b'","size":"1"}]}', "bad_body"),
        (b'{"n":1}', ""),  # no images listed
        (b'{"blobs":[]}', ""),
        (body(), ""),
    ]
    records = [ws.record(data) for data, _ in cases]
    with caplog.at_level(logging.DEBUG, logger="receiver"):
        receipts = await send(http, url, ws.batch(records))
    assert statuses(receipts) == [("rejected" if why else "stored", why) for _, why in cases]
    assert "DOE" not in caplog.text
    assert [await storage.record(r.id) is not None for r in records] == [
        not why for _, why in cases
    ]


async def test_receivers_sharing_postgresql_check_the_images_at_commit(
    http: aiohttp.ClientSession, tmp_path: Path, schema: str, trust_dir: Path, ws: Workstation
) -> None:
    """An image put through one receiver counts for a batch posted to another; an image being
    deleted (by an operator, here) while a record that references it is stored is waited for:
    the record is held back, not stored without it."""
    other = b"another portrait"
    async with (
        storage_of("postgres", tmp_path, schema) as a,
        storage_of("postgres", tmp_path, schema) as b,
        serve(a, Trust(trust_dir)) as where_a,
        serve(b, Trust(trust_dir)) as where_b,
    ):
        assert await put(http, where_a.url, other) == 201
        first = ws.record(body((hashlib.sha256(other).hexdigest(), len(other))))
        assert statuses(await send(http, where_b.url, ws.batch([first]))) == [("stored", "")]
        assert await put(http, where_a.url, IMAGE) == 201
        second = ws.record(body((SHA, len(IMAGE))))
        delete = sql.SQL("DELETE FROM {}.blobs WHERE sha256 = %s").format(sql.Identifier(schema))
        dsn = postgres_dsn()
        async with (
            await psycopg.AsyncConnection.connect(dsn) as operator,
            await psycopg.AsyncConnection.connect(dsn, autocommit=True) as watcher,
        ):
            await operator.execute(delete, (SHA,))  # not committed yet: the row is locked

            async def waiting() -> bool:
                cur = await watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE %s",
                    ("%FROM blobs%FOR KEY SHARE%",),
                )
                row = await cur.fetchone()
                return row is not None and int(row[0]) > 0

            posting = asyncio.create_task(send(http, where_b.url, ws.batch([second])))
            await wait_for(waiting, timeout=60)
            await operator.commit()
            assert await posting == []
        assert await b.record(second.id) is None
        assert await put(http, where_b.url, IMAGE) == 201
        assert statuses(await send(http, where_a.url, ws.batch([second]))) == [("stored", "")]


async def test_a_batch_without_images_asks_nothing_of_the_blobs_table(
    tmp_path: Path, trust_dir: Path, ws: Workstation
) -> None:
    store = SqliteStorage(tmp_path / "trace.db")
    await store.open()
    statements: list[str] = []
    try:
        store._w().set_trace_callback(statements.append)
        plain = check(
            gz(ws.batch([ws.record(body()) for _ in range(50)])), "gzip", Trust(trust_dir)
        )
        assert all(r.blobs == () for r in plain.records)
        receipts = await store.ingest(plain.workstation, plain.key_id, plain.records, 0.0)
        assert len(receipts) == 50
        assert not [s for s in statements if "blobs" in s]
        # With images, one look-up for the whole batch, not one per record.
        images = [b"image %d" % n for n in range(50)]
        for image in images:
            await store.put_blob(hashlib.sha256(image).hexdigest(), image, 0.0)
        statements.clear()
        refs = [(hashlib.sha256(image).hexdigest(), len(image)) for image in images]
        with_images = check(
            gz(ws.batch([ws.record(body(ref)) for ref in refs])), "gzip", Trust(trust_dir)
        )
        receipts = await store.ingest(
            with_images.workstation, with_images.key_id, with_images.records, 0.0
        )
        assert statuses(receipts) == [("stored", "")] * 50
        assert len([s for s in statements if "FROM blobs" in s]) == 1
    finally:
        store._w().set_trace_callback(None)
        await store.close()


async def test_the_workstation_sends_a_record_again_until_its_image_is_uploaded(
    storage: Storage, trust_dir: Path, data_dir: Path
) -> None:
    """End to end, HTTP sink and scheduler: a record that reaches the receiver without its
    image (here the store lost the record's link to it, so the sink uploads nothing) is not a
    dead letter; once the image goes up with it, it is stored."""
    station = Workstation("test-ws")
    station.trust(trust_dir)
    async with (
        serve(storage, Trust(trust_dir)) as where,
        open_store(data_dir, [("region", True)], key=station.key) as store,
    ):
        plain = await add_records(store, 1)
        portrait = await add_records(store, 1, start=1, blob=IMAGE)
        plain += await add_records(store, 1, start=2)
        seq = portrait[0].seq
        await store.apply([("DELETE FROM record_blobs WHERE seq = ?", [(seq,)])])
        config = SinkConfig(name="region", kind="http", target=where.url)
        sink = HttpSink(config, station.name, station.key_id)
        await sink.open()
        try:
            clock = Clock()
            recorder = Recorder()
            scheduler = SinkScheduler(
                sink,
                config,
                ForwardingConfig(backoff_base=1.0, backoff_cap=60.0),
                store,
                recorder,
                clock=clock,
            )
            await scheduler.step()
            after_first = await states(store, "region")
            assert after_first[seq] == ("pending", 1, "no answer")
            assert {after_first[r.seq][0] for r in plain} == {"delivered"}
            assert await storage.record(portrait[0].id) is None
            # The link is repaired: the next send uploads the image first.
            await store.apply(
                [
                    (
                        "INSERT INTO record_blobs (seq, sha256, role) VALUES (?, ?, ?)",
                        [(seq, SHA, "portrait")],
                    )
                ]
            )
            clock.now += 3600
            for _ in range(5):
                if not await scheduler.step():
                    break
            assert (await states(store, "region"))[seq][0] == "delivered"
            assert recorder.rejected == 0
            assert await storage.record(portrait[0].id) is not None
            assert await storage.get_blob(SHA) == IMAGE
        finally:
            await sink.close()
