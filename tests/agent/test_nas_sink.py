"""The NAS sink on a temporary directory (mount check relaxed where the test says so)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import msgspec
import pytest

from agent import nas_files
from agent.nas_sink import NasSink
from agent.scheduler import SinkScheduler
from agent.sink import BlobFile, Outcome, Outgoing, SinkUnavailable, TransientError
from agent.sink_status import SinkState
from edge import records
from edge.config import ForwardingConfig, SinkConfig
from tests.agent.support import Clock, Recorder, add_records, open_store
from tests.helpers import make_record

SENTINEL = ".midas-share"


def share(tmp_path: Path, sentinel: bool = True) -> Path:
    root = tmp_path / "share"
    root.mkdir()
    if sentinel:
        (root / SENTINEL).write_text("share-uuid\n")
    return root


def sink(root: Path, *, timeout: float = 5.0, **kwargs: object) -> NasSink:
    config = SinkConfig(name="nas", kind="nas", target=str(root), timeout=timeout)
    kwargs.setdefault("require_mount", False)
    return NasSink(config, "test-ws", "key-1", **kwargs)  # type: ignore[arg-type]  # test knobs


def outgoing(n: int, blob: BlobFile | None = None) -> Outgoing:
    record = make_record(n)
    body = records.encode(record)
    return Outgoing(
        n + 1,
        record.id,
        body,
        bytes(32),
        bytes([n % 256]) * 32,
        b"s" * 64,
        (blob,) if blob else (),
    )


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def manifests(root: Path) -> list[Path]:
    return [p for p in files(root) if p.name.startswith("manifest-")]


async def test_records_blobs_and_the_manifest_are_published(tmp_path: Path) -> None:
    root = share(tmp_path)
    image = tmp_path / "image"
    image.write_bytes(b"\xff\xd8jpeg")
    blob = BlobFile(hashlib.sha256(b"\xff\xd8jpeg").hexdigest(), "image/jpeg", 6, str(image))
    batch = [outgoing(0, blob), outgoing(1), outgoing(2)]
    nas = sink(root)
    await nas.open()
    answers = await nas.send(batch)
    assert [a.outcome for a in answers] == [Outcome.DELIVERED] * 3
    (manifest,) = manifests(root)
    assert answers[0].receipt == str(manifest.relative_to(root))
    assert manifest.name == manifest.name.lower()
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [line["id"] for line in lines] == [o.id for o in batch]
    base = root / "test-ws"
    (records_file,) = {line["file"] for line in lines}
    assert (base / records_file).read_bytes() == b"".join(o.body + b"\n" for o in batch)
    assert (base / records_file).name == (base / records_file).name.lower()
    for line, out in zip(lines, batch, strict=True):
        start = line["offset"]
        data = (base / line["file"]).read_bytes()[start : start + line["size"]]
        assert data == out.body
        assert (line["size"], line["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert line["hash"] == out.hash.hex() and line["key_id"] == "key-1"
        assert line["schema_version"] == records.SCHEMA_VERSION
    (blob_line,) = lines[0]["blobs"]
    assert (base / blob_line["file"]).read_bytes() == b"\xff\xd8jpeg"
    assert blob_line["file"].endswith(f"blobs/{blob.sha256}.jpg")
    assert not [p for p in files(root) if ".part-" in p.name]


async def test_the_manifest_is_renamed_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = share(tmp_path)
    renamed: list[str] = []
    real = os.rename

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        renamed.append(Path(dst).name)
        real(src, dst)

    monkeypatch.setattr(os, "rename", spy)
    await sink(root).send([outgoing(n) for n in range(5)])
    assert len(renamed) == 2  # one records file for the batch's five records, then the manifest
    assert renamed[0].startswith("records-")
    assert renamed[-1].startswith("manifest-")


async def test_a_resend_finds_everything_already_there(tmp_path: Path) -> None:
    root = share(tmp_path)
    batch = [outgoing(n) for n in range(3)]
    first = await sink(root).send(batch)
    before = {p: p.stat().st_mtime_ns for p in files(root)}
    again = await sink(root).send(batch)
    assert again == first
    assert {p: p.stat().st_mtime_ns for p in files(root)} == before


async def test_an_image_with_other_content_under_its_name_goes_under_a_fresh_name(
    tmp_path: Path,
) -> None:
    root = share(tmp_path)
    image = tmp_path / "image"
    image.write_bytes(b"\xff\xd8jpeg")
    blob = BlobFile(hashlib.sha256(b"\xff\xd8jpeg").hexdigest(), "image/jpeg", 6, str(image))
    batch = [outgoing(0), outgoing(1, blob), outgoing(2)]
    await sink(root).send(batch[:1])
    (manifest,) = manifests(root)
    path = manifest.parent / "blobs" / f"{blob.sha256}.jpg"  # the same capture day
    path.parent.mkdir()
    path.write_bytes(b"someone else")  # damaged: never trusted, never replaced
    answers = await sink(root).send(batch)
    assert [(a.seq, a.outcome) for a in answers] == [(n, Outcome.DELIVERED) for n in (1, 2, 3)]
    assert path.read_bytes() == b"someone else"
    fresh = path.with_name(f"{blob.sha256}-1.jpg")
    assert fresh.read_bytes() == b"\xff\xd8jpeg"
    last = max(manifests(root), key=lambda p: p.name)
    lines = [json.loads(line) for line in last.read_text().splitlines()]
    assert [b["file"] for b in lines[1]["blobs"]] == [str(fresh.relative_to(root / "test-ws"))]

    for n in range(2, nas_files.MAX_NAMES):  # every name taken by other content: a conflict
        path.with_name(f"{blob.sha256}-{n}.jpg").write_bytes(b"someone else")
    fresh.write_bytes(b"someone else")
    answers = await sink(root).send(batch[1:2])
    assert [(a.seq, a.outcome, a.reason) for a in answers] == [(2, Outcome.REJECTED, "conflict")]


async def test_a_records_file_with_other_content_is_passed_over(tmp_path: Path) -> None:
    root = share(tmp_path)
    batch = [outgoing(n) for n in range(3)]
    await sink(root).send(batch)
    (manifest,) = manifests(root)
    (records_file,) = manifest.parent.glob("records-*.jsonl")
    manifest.unlink()  # as if the batch had stopped before its manifest
    records_file.write_bytes(b"someone else\n")
    answers = await sink(root).send(batch)
    assert [a.outcome for a in answers] == [Outcome.DELIVERED] * 3
    assert records_file.read_bytes() == b"someone else\n"
    fresh = records_file.with_name(f"{records_file.stem}-1.jsonl")
    assert fresh.read_bytes() == b"".join(o.body + b"\n" for o in batch)
    (manifest,) = manifests(root)
    assert {json.loads(line)["file"] for line in manifest.read_text().splitlines()} == {
        str(fresh.relative_to(root / "test-ws"))
    }

    manifest.unlink()
    for n in range(1, nas_files.MAX_NAMES):  # every name taken by other content
        records_file.with_name(f"{records_file.stem}-{n}.jsonl").write_bytes(b"someone else\n")
    with pytest.raises(TransientError, match="records file"):
        await sink(root).send(batch)
    assert manifests(root) == []


async def test_records_of_two_capture_days_go_to_their_own_days(tmp_path: Path) -> None:
    root = share(tmp_path)
    late = msgspec.structs.replace(make_record(1), captured_at="2031-01-02T00:00:00.000Z")
    batch = [outgoing(0), dataclasses.replace(outgoing(1), body=records.encode(late))]
    answers = await sink(root).send(batch)
    assert [a.outcome for a in answers] == [Outcome.DELIVERED] * 2
    files_by_day = sorted(p.relative_to(root).as_posix() for p in root.rglob("records-*"))
    assert len(files_by_day) == 2
    assert files_by_day[1].startswith("test-ws/2031/01/02/records-000000000002-000000000002-")
    (manifest,) = manifests(root)
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [line["offset"] for line in lines] == [0, 0]
    assert lines[1]["file"].startswith("2031/01/02/records-")


async def test_a_missing_image_or_an_unreadable_body_rejects_only_its_record(
    tmp_path: Path,
) -> None:
    root = share(tmp_path)
    gone = BlobFile("ab" * 32, "image/jpeg", 6, str(tmp_path / "no-such-image"))
    garbled = dataclasses.replace(outgoing(2), body=b"not json")
    batch = [outgoing(0), outgoing(1, gone), garbled]
    answers = await sink(root).send(batch)
    assert [(a.seq, a.outcome, a.reason) for a in answers] == [
        (1, Outcome.DELIVERED, ""),
        (2, Outcome.REJECTED, "blob_missing"),
        (3, Outcome.REJECTED, "unreadable_record"),
    ]
    (manifest,) = manifests(root)
    assert [json.loads(line)["id"] for line in manifest.read_text().splitlines()] == [batch[0].id]
    (records_file,) = (root / "test-ws").rglob("records-*.jsonl")
    assert records_file.read_bytes() == batch[0].body + b"\n"


async def test_a_bare_directory_is_refused_by_default(tmp_path: Path) -> None:
    root = share(tmp_path)
    with pytest.raises(SinkUnavailable, match="not mounted"):
        await sink(root, require_mount=None).send([outgoing(0)])
    assert files(root) == [root / SENTINEL]


async def test_no_sentinel_no_writes(tmp_path: Path) -> None:
    root = share(tmp_path, sentinel=False)
    with pytest.raises(SinkUnavailable, match="sentinel"):
        await sink(root).send([outgoing(0)])
    assert list(root.iterdir()) == []


async def test_the_share_root_is_never_created(tmp_path: Path) -> None:
    root = tmp_path / "missing"
    with pytest.raises(SinkUnavailable, match="does not exist"):
        await sink(root).send([outgoing(0)])
    assert not root.exists()


async def test_stale_part_files_are_removed_at_open(tmp_path: Path) -> None:
    root = share(tmp_path)
    day = root / "test-ws" / "2026" / "09" / "21"
    day.mkdir(parents=True)
    stale, fresh = day / "x.json.part-aaaa", day / "y.json.part-bbbb"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    await sink(root).open()
    assert not stale.exists() and fresh.exists()


class HungShare(NasSink):
    """A share whose filesystem calls block until the test releases them."""

    def __init__(self, root: Path, release: threading.Event) -> None:
        config = SinkConfig(name="nas", kind="nas", target=str(root), timeout=0.2)
        super().__init__(config, "test-ws", "key-1", require_mount=False)
        self.release = release

    def _verify(self) -> None:
        self.release.wait(30)  # a stat() on a hard-mounted share that stopped answering
        super()._verify()


async def test_a_hung_share_never_blocks_the_loop(tmp_path: Path) -> None:
    release = threading.Event()
    nas = HungShare(share(tmp_path), release)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(ticker())
    try:
        await nas.open()  # the clean-up hangs too: it times out and is tried again later
        with pytest.raises(SinkUnavailable, match="did not answer"):
            await nas.send([outgoing(0)])
        assert nas.in_flight == 2
        with pytest.raises(SinkUnavailable, match="hung"):  # no third stuck thread
            await nas.send([outgoing(0)])
        assert ticks > 5  # the loop kept running while the threads were stuck
    finally:
        release.set()
        beat.cancel()
    async with asyncio.timeout(10):
        while nas.in_flight:
            await asyncio.sleep(0.01)
    answers = await nas.send([outgoing(0)])
    assert answers[0].outcome is Outcome.DELIVERED


async def test_the_scheduler_marks_a_hung_share_unavailable(data_dir: Path, tmp_path: Path) -> None:
    release = threading.Event()
    nas = HungShare(share(tmp_path), release)
    async with open_store(data_dir, [("nas", True)]) as store:
        await add_records(store, 2)
        config = SinkConfig(name="nas", kind="nas", target=str(nas.root), timeout=0.2)
        s = SinkScheduler(nas, config, ForwardingConfig(), store, Recorder(), clock=Clock())
        try:
            assert not await s.step()
            assert s.status.state is SinkState.UNAVAILABLE
            assert "did not answer" in s.status.error
        finally:
            release.set()
