"""Retention: tombstones once every required sink has a record, blobs removed after the purge."""

from __future__ import annotations

import json
from pathlib import Path

from agent.retention import Retention
from agent.scheduler import SinkScheduler
from edge.config import ForwardingConfig, SinkConfig
from edge.store import Store
from tests.agent.support import Clock, Recorder, ScriptedSink, add_records, open_store, states

DAY = 86400.0
IMAGE = b"\xff\xd8 a portrait"


def scheduler(store: Store, name: str, clock: Clock) -> SinkScheduler:
    config = SinkConfig(name=name, kind="nas", target="/srv/x")
    return SinkScheduler(
        ScriptedSink(name), config, ForwardingConfig(), store, Recorder(), clock=clock
    )


async def test_purge_after_every_required_sink_and_the_retention_time(data_dir: Path) -> None:
    clock = Clock()
    sinks = [("a", True), ("b", True), ("optional", False)]
    async with open_store(data_dir, sinks) as store:
        committed = await add_records(store, 3, blob=IMAGE)
        (sha,) = {r.blobs[0].sha256 for r in committed}
        blob_file = store.read_blob_path(sha)
        retention = Retention(store, 2.0, clock=clock)

        await scheduler(store, "a", clock).step()
        clock.now += 10 * DAY
        assert await retention.run_once() == 0  # b has not confirmed yet
        assert blob_file.exists()

        await scheduler(store, "b", clock).step()
        clock.now += 1 * DAY
        assert await retention.run_once() == 0  # b confirmed one day ago, two are kept
        clock.now += 1.5 * DAY
        assert await retention.run_once() == 3
        assert not blob_file.exists()
        assert await store.query("SELECT count(*) FROM blobs") == [(0,)]
        assert store.usage().blobs == 0  # the quota no longer counts the removed image
        assert await retention.run_once() == 0

        rows = await store.query(
            "SELECT r.seq, r.body, r.purged_at, s.hash FROM records r JOIN seals s USING (seq)"
        )
        for (seq, body, purged_at, digest), record in zip(rows, committed, strict=True):
            tomb = json.loads(body)
            assert set(tomb) == {
                "id",
                "seq",
                "captured_at",
                "kind",
                "raw_sha256",
                "hash",
                "receipts",
                "purged_at",
            }
            assert tomb["id"] == record.id and tomb["seq"] == seq
            assert tomb["raw_sha256"] == record.raw_sha256
            assert tomb["hash"] == bytes(digest).hex()
            assert tomb["receipts"] == {"a": f"r-{seq}", "b": f"r-{seq}", "optional": "pending"}
            assert purged_at is not None
            assert record.raw.decode() not in body.decode()
        # The optional sink must never send a tombstone: its deliveries are closed.
        assert {r[0] for r in (await states(store, "optional")).values()} == {"dropped"}


async def test_a_blob_still_referenced_stays(data_dir: Path) -> None:
    clock = Clock()
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 2, blob=IMAGE)
        await scheduler(store, "a", clock).step()
        later = await add_records(store, 1, start=2, blob=IMAGE)  # the same image, undelivered
        retention = Retention(store, 0.0, clock=clock)
        clock.now += 1
        assert await retention.run_once() == 2
        assert store.read_blob_path(later[0].blobs[0].sha256).exists()
        assert await store.query("SELECT count(*) FROM record_blobs") == [(1,)]


async def test_records_without_a_required_sink_are_kept(data_dir: Path) -> None:
    clock = Clock()
    async with open_store(data_dir, [("optional", False)]) as store:
        await add_records(store, 2)
        await scheduler(store, "optional", clock).step()
        clock.now += 100 * DAY
        assert await Retention(store, 0.0, clock=clock).run_once() == 0
