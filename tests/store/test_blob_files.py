"""Blob files against removals: the start-up sweep and `remove_blobs` delete only what no row
references and no capture on its way to its commit holds."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from drivers.base import Capture, CaptureKind
from edge.errors import StorageFullError
from edge.events import Hub
from edge.metrics import Metrics
from edge.normalize import Normalizer
from edge.pipeline import Pipeline
from edge.records import BlobRef, DeviceRef, Record
from edge.store import Store
from edge.store.blobs import BlobFiles
from tests.helpers import make_record

WAIT_S = 10.0
# A digest no blob has: removing it is a no-op that returns once every removal queued before it
# has run (the writer runs removals in the order they came).
NO_BLOB = "0" * 64


def blob_store(data_dir: Path) -> Store:
    return Store(data_dir, quota=1 << 40, min_free=0)


@contextlib.asynccontextmanager
async def writing(store: Store) -> AsyncIterator[Store]:
    writer = asyncio.create_task(store.run_writer(), name="writer")
    try:
        yield store
    finally:
        await store.stop_writer()
        await asyncio.wait_for(writer, WAIT_S)


async def commit(store: Store, n: int, refs: list[BlobRef]) -> Record:
    record = msgspec.structs.replace(make_record(n), blobs=refs)
    return await asyncio.wait_for(await store.append(record), WAIT_S)


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_the_start_sweep_removes_orphans_and_keeps_referenced_blobs(data_dir: Path) -> None:
    async with blob_store(data_dir) as store, writing(store):
        kept = await store.put_blob(b"a committed image", "image/jpeg", "portrait")
        await commit(store, 1, [kept])
        orphan = await store.put_blob(b"an image whose record never came", "image/jpeg", "x")
    kept_path = data_dir / "blobs" / kept.sha256[:2] / kept.sha256
    orphan_path = data_dir / "blobs" / orphan.sha256[:2] / orphan.sha256
    old_temp = kept_path.with_name(".tmp-old")
    young_temp = kept_path.with_name(".tmp-young")
    old_temp.write_bytes(b"left by a crash")
    young_temp.write_bytes(b"may be a write in flight")
    for path in (kept_path, orphan_path, old_temp):
        age(path, 3600)  # a blob's age does not decide: the rows and the pins do

    async with blob_store(data_dir) as store:
        assert not old_temp.exists()
        assert young_temp.exists()
        assert orphan_path.exists()  # the writer's first turn removes it
        async with writing(store):
            assert await store.remove_blobs([NO_BLOB]) == 0
            assert not orphan_path.exists()
            assert kept_path.read_bytes() == b"a committed image"


@pytest.mark.parametrize("queued", ["before the sweep ran", "after the sweep ran"])
async def test_a_capture_of_an_orphans_bytes_at_start_keeps_its_file(
    data_dir: Path, queued: str
) -> None:
    image = b"the same portrait bytes again"
    async with blob_store(data_dir) as store:
        orphan = await store.put_blob(image, "image/jpeg", "portrait")
    path = data_dir / "blobs" / orphan.sha256[:2] / orphan.sha256
    age(path, 3600)

    async with blob_store(data_dir) as store:
        # Before the writer's first turn: the file exists, so the capture reuses it, and holds
        # it until its record is settled.
        ref = await store.put_blob(image, "image/jpeg", "portrait")
        assert ref.sha256 == orphan.sha256
        pending = None
        if queued == "before the sweep ran":
            pending = await store.append(msgspec.structs.replace(make_record(1), blobs=[ref]))
        async with writing(store):
            assert await store.remove_blobs([NO_BLOB]) == 0
            assert path.read_bytes() == image
            if pending is None:
                await commit(store, 1, [ref])
            else:
                await asyncio.wait_for(pending, WAIT_S)
            assert path.read_bytes() == image

    async with blob_store(data_dir) as store, writing(store):
        assert await store.remove_blobs([NO_BLOB]) == 0
        assert path.read_bytes() == image  # referenced now: the next start keeps it too


async def test_removal_spares_what_a_row_references_or_a_capture_holds(data_dir: Path) -> None:
    async with blob_store(data_dir) as store, writing(store):
        stored = await store.put_blob(b"committed", "image/jpeg", "portrait")
        await commit(store, 1, [stored])
        assert await store.remove_blobs([stored.sha256]) == 0
        assert store.read_blob_path(stored.sha256).exists()

        held = await store.put_blob(b"on its way", "image/jpeg", "portrait")
        twice = await store.put_blob(b"on its way", "image/jpeg", "portrait")
        path = store.read_blob_path(held.sha256)
        assert await store.remove_blobs([held.sha256]) == 0
        store.release_blobs([held])
        assert await store.remove_blobs([held.sha256]) == 0  # the second capture still holds it
        store.release_blobs([twice])
        assert await store.remove_blobs([held.sha256]) == 1
        assert not path.exists()

        again = await store.put_blob(b"on its way", "image/jpeg", "portrait")
        assert path.read_bytes() == b"on its way"  # written anew, not trusted to exist
        await commit(store, 2, [again])
        assert await store.remove_blobs([again.sha256]) == 0


async def test_a_refused_capture_gives_its_images_up(data_dir: Path) -> None:
    small, large = b"s" * 1000, b"l" * 200_000
    async with blob_store(data_dir) as store, writing(store):
        store.quota = store.usage().total + 50_000  # room for the first image, not the second
        pipeline = Pipeline(store, Normalizer("test-ws"), Hub(), Metrics(), queue_size=4)
        runner = asyncio.create_task(pipeline.run(), name="pipeline")
        capture = Capture(
            kind=CaptureKind.PORTRAIT,
            raw=b"frame",
            captured_at_ms=1_790_000_000_000,
            images=(("image/jpeg", small), ("image/jpeg", large)),
        )
        done = await pipeline.submit(DeviceRef("camera", "sim"), capture)
        with pytest.raises(StorageFullError):
            await asyncio.wait_for(done, WAIT_S)
        await pipeline.close()
        await asyncio.wait_for(runner, WAIT_S)
        sha = hashlib.sha256(small).hexdigest()
        first = store.read_blob_path(sha)
        assert first.exists()  # written, then its record was refused: nobody holds it now
        assert await store.remove_blobs([sha]) == 1
        assert not first.exists()


async def test_images_of_a_quarantined_database_are_not_swept(data_dir: Path) -> None:
    async with blob_store(data_dir) as store, writing(store):
        ref = await store.put_blob(b"an image of an acknowledged record", "image/jpeg", "x")
        await commit(store, 1, [ref])
    path = data_dir / "blobs" / ref.sha256[:2] / ref.sha256
    age(path, 3600)
    with (data_dir / "records.db").open("r+b") as db:
        db.write(os.urandom(4096))

    async with blob_store(data_dir) as store, writing(store):
        assert store.quarantined is not None
        assert await store.remove_blobs([NO_BLOB]) == 0
        assert path.exists()
    async with blob_store(data_dir) as store, writing(store):  # still beside the store
        assert store.quarantined is None
        assert await store.remove_blobs([NO_BLOB]) == 0
        assert path.exists()


async def test_a_capture_cancelled_while_its_image_is_written_gives_the_pin_back(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"an image whose capture is given up"
    sha = hashlib.sha256(data).hexdigest()
    async with blob_store(data_dir) as store, writing(store):
        release = threading.Event()
        real = BlobFiles._store

        def slow(files: BlobFiles, digest: str, payload: bytes) -> None:
            release.wait(WAIT_S)  # a slow disk: the capture is cancelled meanwhile
            real(files, digest, payload)

        monkeypatch.setattr(BlobFiles, "_store", slow)
        put = asyncio.create_task(store.put_blob(data, "image/jpeg", "portrait"))
        await asyncio.sleep(0.05)
        put.cancel()
        await asyncio.gather(put, return_exceptions=True)
        assert put.cancelled()
        release.set()
        # Once the write ended in its thread, nobody references the image and nobody holds it
        # any more: a removal deletes it.
        removed = 0
        for _ in range(int(WAIT_S / 0.01)):
            removed = await store.remove_blobs([sha])
            if removed:
                break
            await asyncio.sleep(0.01)
        assert removed == 1
        assert not store.read_blob_path(sha).exists()
