"""Retention: tombstones once every required sink has a record, blobs removed after the purge
unless a capture of the same image bytes committed meanwhile or is on its way to its commit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from agent.retention import Retention
from agent.scheduler import SinkScheduler
from edge.config import ForwardingConfig, SinkConfig
from edge.records import BlobRef, Record
from edge.store import Store
from tests.agent.support import (
    WAIT_S,
    Clock,
    Recorder,
    ScriptedSink,
    add_records,
    open_store,
    sealed_up_to,
    states,
    wait_for,
)
from tests.helpers import make_record

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


class CaptureBeforeRemoval(Retention):
    """The real retention, running `capture` after its purge committed and before it removes
    the batch's blob files."""

    def __init__(self, store: Store, clock: Clock, capture: Callable[[], Awaitable[None]]) -> None:
        super().__init__(store, 0.0, clock=clock)
        self._capture = capture

    async def _remove_blob_files(self, shas: set[str]) -> None:
        await self._capture()
        await super()._remove_blob_files(shas)


BEFORE_PURGE = "before the purge"
BETWEEN = "between the purge and the removal"
AFTER_REMOVAL = "after the removal"


@pytest.mark.parametrize("written", [BEFORE_PURGE, BETWEEN])
@pytest.mark.parametrize("committed", [BETWEEN, AFTER_REMOVAL])
async def test_the_same_image_captured_during_a_purge_keeps_its_file(
    data_dir: Path, written: str, committed: str
) -> None:
    clock = Clock()
    async with open_store(data_dir, [("a", True)]) as store:
        (old,) = await add_records(store, 1, blob=IMAGE)
        path = store.read_blob_path(old.blobs[0].sha256)
        await scheduler(store, "a", clock).step()
        clock.now += 1
        refs: list[BlobRef] = []
        new: list[Record] = []

        async def write() -> None:
            # The file exists: the capture reuses it (no write) before its record commits.
            refs.append(await store.put_blob(IMAGE, "image/jpeg", "portrait"))

        async def commit() -> None:
            record = msgspec.structs.replace(make_record(1), blobs=refs)
            new.append(await asyncio.wait_for(await store.append(record), WAIT_S))

        async def capture() -> None:
            if written == BETWEEN:
                await write()
            if committed == BETWEEN:
                await commit()

        if written == BEFORE_PURGE:
            await write()
        assert await CaptureBeforeRemoval(store, clock, capture).run_once() == 1
        if committed == AFTER_REMOVAL:
            await commit()

        assert new[0].blobs[0].sha256 == old.blobs[0].sha256
        assert path.read_bytes() == IMAGE
        assert await store.query("SELECT count(*) FROM blobs") == [(1,)]

        # Once that capture is confirmed and purged too, nobody references the file: it goes.
        await wait_for(lambda: sealed_up_to(store, new[0].seq))
        await scheduler(store, "a", clock).step()
        clock.now += 1
        assert await Retention(store, 0.0, clock=clock).run_once() == 1
        assert not path.exists()
        assert await store.query("SELECT count(*) FROM blobs") == [(0,)]


async def test_an_image_given_up_before_its_commit_is_removed_with_the_purge(
    data_dir: Path,
) -> None:
    clock = Clock()
    async with open_store(data_dir, [("a", True)]) as store:
        (old,) = await add_records(store, 1, blob=IMAGE)
        await scheduler(store, "a", clock).step()
        clock.now += 1
        ref = await store.put_blob(IMAGE, "image/jpeg", "portrait")
        store.release_blobs([ref])  # that capture was refused before it reached the writer
        assert await Retention(store, 0.0, clock=clock).run_once() == 1
        assert not store.read_blob_path(old.blobs[0].sha256).exists()
