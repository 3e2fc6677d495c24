"""NAS reconciliation: the real NAS sink writes a temporary share, the share is damaged by hand,
`reconcile` finds it, a repair re-queues it and the real scheduler writes it again."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent import nas_manifests, nas_reconcile, outbox
from agent.nas_reconcile import Report
from agent.nas_sink import UNMOUNTED_ENV, NasSink, verify_share
from agent.retention import Retention
from agent.scheduler import SinkScheduler
from edge.config import ForwardingConfig, SinkConfig
from edge.store import Store
from tests.agent.support import (
    WAIT_S,
    Recorder,
    add_records,
    open_store,
    sealed_up_to,
    states,
    wait_for,
)
from tests.agent.test_nas_sink import share
from tests.helpers import make_record

WS = "test-ws"
BATCH = 4
CLI_TIMEOUT_S = 60


def nas_config(root: Path, timeout: float = 5.0) -> SinkConfig:
    return SinkConfig(
        name="nas", kind="nas", target=str(root), batch_records=BATCH, timeout=timeout
    )


@dataclass
class Post:
    """A workstation's store and its NAS sink's scheduler over a temporary share."""

    data_dir: Path
    root: Path
    config: SinkConfig
    store: Store
    scheduler: SinkScheduler

    @property
    def base(self) -> Path:
        return self.root / WS

    def path(self, rel: str) -> Path:
        """A file a manifest names."""
        return self.base / rel

    async def capture(self, count: int, start: int = 0, *, images: bool = True) -> None:
        """Commit records (each with an image of its own) and wait for their seals."""
        if not images:
            await add_records(self.store, count, start=start)
            return
        futures = []
        for n in range(start, start + count):
            ref = await self.store.put_blob(image(n), "image/jpeg", "portrait")
            record = msgspec.structs.replace(make_record(n), blobs=[ref])
            futures.append(await self.store.append(record))
        last = (await asyncio.wait_for(futures[-1], WAIT_S)).seq
        await asyncio.gather(*futures)
        await wait_for(lambda: sealed_up_to(self.store, last))

    async def deliver(self) -> None:
        """Sink passes until nothing is pending any more."""
        for _ in range(100):
            if not await self.scheduler.step():
                break
        assert await self.undelivered() == []

    async def undelivered(self) -> list[int]:
        by_seq = await states(self.store, "nas")
        return [seq for seq, (state, _, _) in by_seq.items() if state != "delivered"]

    async def reconcile(self, *, repair: bool = False) -> Report:
        return await asyncio.to_thread(reconcile, self.data_dir, self.config, repair)

    def entry(self, seq: int) -> dict[str, Any]:
        """The manifest line naming `seq` (the first manifest that does)."""
        for manifest in sorted(self.base.rglob("manifest-*")):
            for line in manifest.read_text().splitlines():
                entry: dict[str, Any] = json.loads(line)
                if entry["seq"] == seq:
                    return entry
        raise AssertionError(f"no manifest names {seq}")

    def manifest_of(self, seq: int) -> Path:
        (found,) = [
            m
            for m in sorted(self.base.rglob("manifest-*"))
            if int(m.name.split("-")[1]) <= seq <= int(m.name.split("-")[2])
        ]
        return found


def image(n: int) -> bytes:
    return b"\xff\xd8 portrait " + str(n).encode() * 50


def reconcile(data_dir: Path, config: SinkConfig, repair: bool = False) -> Report:
    """What `outbox reconcile [--repair]` does for one sink, on a connection of its own."""
    conn = outbox.connect(data_dir)
    try:
        report = nas_reconcile.check(conn, config, WS, require_mount=False)
        if repair and (report.missing.count or report.damaged.count):
            report.requeued = outbox.requeue(conn, report)
        return report
    finally:
        conn.close()


def write_config(tmp_path: Path, data_dir: Path, root: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[workstation]
id = "{WS}"
data_dir = "{data_dir}"

[storage]
quota = "1GiB"
min_free = 0

[[sinks]]
name = "nas"
kind = "nas"
target = "{root}"
batch_records = {BATCH}

[[sinks]]
name = "web"
kind = "http"
target = "http://127.0.0.1:9/"
required = false
"""
    )
    return path


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    """`midas-edge outbox reconcile ARGS` in a process of its own, on a plain test directory."""
    done = subprocess.run(
        [sys.executable, "-m", "edge", "outbox", "--config", str(config), "reconcile", *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
        env={**os.environ, UNMOUNTED_ENV: "1"},
    )
    return done.returncode, done.stdout, done.stderr


@contextlib.asynccontextmanager
async def post(tmp_path: Path, data_dir: Path, root: Path | None = None) -> AsyncIterator[Post]:
    root = root or share(tmp_path)
    config = nas_config(root)
    async with open_store(data_dir, [("nas", True)]) as store:
        nas = NasSink(config, WS, "key-1", require_mount=False)
        scheduler = SinkScheduler(nas, config, ForwardingConfig(), store, Recorder())
        yield Post(data_dir, root, config, store, scheduler)


def flip(path: Path, at: int) -> None:
    with path.open("r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0x01]))


def tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file and folder under `root`: size, modification time and content digest."""
    out: dict[str, tuple[int, int, str]] = {}
    for path in sorted(root.rglob("*")):
        st = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, digest)
    return out


# -- damage done by hand, and what reconcile must call it ------------------------------------


def records_file_deleted(p: Post) -> Path | None:
    p.path(p.entry(5)["file"]).unlink()
    return None


def records_file_truncated(p: Post) -> Path | None:
    entry = p.entry(7)
    path = p.path(entry["file"])
    os.truncate(path, entry["offset"] + entry["size"] // 2)
    return path


def byte_flipped(p: Post) -> Path | None:
    entry = p.entry(6)
    path = p.path(entry["file"])
    flip(path, entry["offset"] + entry["size"] // 2)
    return path


def manifest_deleted(p: Post) -> Path | None:
    p.manifest_of(5).unlink()
    return None


def manifest_damaged(p: Post) -> Path | None:
    manifest = p.manifest_of(5)
    text = manifest.read_bytes()
    flip(manifest, text.rindex(b'"sig":"') + 20)  # still JSON: only its digest tells
    return manifest


def image_deleted(p: Post) -> Path | None:
    p.path(p.entry(3)["blobs"][0]["file"]).unlink()
    return None


def image_truncated(p: Post) -> Path | None:
    path = p.path(p.entry(3)["blobs"][0]["file"])
    os.truncate(path, 5)
    return path


def day_folder_deleted(p: Post) -> Path | None:
    shutil.rmtree(p.path(p.entry(1)["file"]).parent)
    return None


CASES: list[tuple[Callable[[Post], Path | None], list[list[int]], list[list[int]]]] = [
    (records_file_deleted, [], [[5, 8]]),
    (records_file_truncated, [], [[7, 8]]),
    (byte_flipped, [], [[6, 6]]),
    (manifest_deleted, [[5, 8]], []),
    (manifest_damaged, [], [[5, 8]]),
    (image_deleted, [], [[3, 3]]),
    (image_truncated, [], [[3, 3]]),
    (day_folder_deleted, [[1, 12]], []),
]


@pytest.mark.parametrize(
    ("damage", "missing", "damaged"), CASES, ids=[c[0].__name__ for c in CASES]
)
async def test_damage_is_found_repaired_and_rewritten(
    tmp_path: Path,
    data_dir: Path,
    damage: Callable[[Post], Path | None],
    missing: list[list[int]],
    damaged: list[list[int]],
) -> None:
    async with post(tmp_path, data_dir) as p:
        await p.capture(3 * BATCH)
        await p.deliver()
        clean = await p.reconcile()
        assert (clean.checked, clean.intact, clean.ok) == (12, 12, True)
        assert clean.manifests == 3

        kept = damage(p)
        kept_bytes = kept.read_bytes() if kept else b""
        report = await p.reconcile()
        assert not report.ok
        assert (report.missing.ranges, report.damaged.ranges) == (missing, damaged)
        count = report.missing.count + report.damaged.count
        assert report.intact == 12 - count
        assert (report.lost.count, report.unknown) == (0, 0)
        assert report.damaged_manifests == (1 if damage is manifest_damaged else 0)

        repaired = await p.reconcile(repair=True)
        assert repaired.requeued == count
        assert len(await p.undelivered()) == count
        await p.deliver()

        again = await p.reconcile()
        assert (again.checked, again.intact, again.ok) == (12, 12, True)
        assert (again.missing.count, again.damaged.count, again.unknown) == (0, 0, 0)
        if kept is not None:  # a damaged file is left as it is and never trusted
            assert kept.read_bytes() == kept_bytes
        if damage is manifest_damaged:  # the same batch again: its manifest under a fresh name
            assert kept and kept.with_name(f"{kept.stem}-1.jsonl").is_file()
        assert not [f for f in p.root.rglob("*") if ".part-" in f.name]


async def test_a_damaged_file_is_never_trusted_and_the_content_goes_under_a_fresh_name(
    tmp_path: Path, data_dir: Path
) -> None:
    async with post(tmp_path, data_dir) as p:
        await p.capture(1)
        await p.deliver()
        entry = p.entry(1)
        records_file = p.path(entry["file"])
        image_file = p.path(entry["blobs"][0]["file"])
        flip(records_file, entry["offset"] + 20)
        flip(image_file, 20)  # the same size: only its digest tells
        report = await p.reconcile(repair=True)
        assert (report.damaged.ranges, report.requeued) == ([[1, 1]], 1)
        await p.deliver()
        # The same one-record batch again: each name it takes holds a damaged file.
        body = await p.store.get_body(entry["id"])
        assert body is not None
        assert records_file.with_name(records_file.stem + "-1.jsonl").read_bytes() == body + b"\n"
        assert image_file.with_name(image_file.stem + "-1.jpg").read_bytes() == image(0)
        assert len(list(p.base.rglob("manifest-*"))) == 2  # the new one names the new files
        assert (await p.reconcile()).ok


async def test_purged_records_missing_on_the_share_are_lost_and_not_requeued(
    tmp_path: Path, data_dir: Path
) -> None:
    async with post(tmp_path, data_dir) as p:
        await p.capture(BATCH, images=False)
        await p.deliver()
        later = lambda: time.time() + 60  # noqa: E731  # the retention time has passed
        assert await Retention(p.store, 0.0, clock=later).run_once() == BATCH
        await p.capture(BATCH, start=BATCH, images=False)
        await p.deliver()
        p.manifest_of(1).unlink()
        p.path(p.entry(6)["file"]).unlink()  # the second batch: still held, resent

        report = await p.reconcile(repair=True)
        assert (report.lost.count, report.lost.ranges) == (4, [[1, 4]])
        assert (report.checked, report.damaged.ranges, report.requeued) == (4, [[5, 8]], 4)
        by_seq = await states(p.store, "nas")
        assert [by_seq[s][0] for s in range(1, 9)] == ["delivered"] * 4 + ["pending"] * 4
        await p.deliver()
        again = await p.reconcile()
        assert (again.intact, again.lost.ranges, again.ok) == (4, [[1, 4]], False)
        code, out, err = await asyncio.to_thread(
            cli, write_config(tmp_path, data_dir, p.root), "--json", "--repair"
        )
        assert code == 1
        assert "4 records purged" in err and "cannot be sent again (seqs 1-4)" in err
        (row,) = [json.loads(line) for line in out.splitlines()]
        assert (row["lost"], row["lost_seqs"], row["requeued"]) == (4, [[1, 4]], None)


async def test_records_on_the_share_the_store_does_not_know_are_counted(
    tmp_path: Path, data_dir: Path
) -> None:
    root = share(tmp_path)
    other = tmp_path / "other-store"
    other.mkdir()
    async with post(tmp_path, other, root) as old:  # a store replaced since, same workstation
        await old.capture(3)
        await old.deliver()
    async with post(tmp_path, data_dir, root) as p:
        await p.capture(2, start=10)
        await p.deliver()
        report = await p.reconcile()
        assert (report.checked, report.intact, report.unknown, report.ok) == (2, 2, 3, True)


async def test_manifests_longer_than_a_chunk_are_streamed(tmp_path: Path, data_dir: Path) -> None:
    count = nas_manifests.CHUNK * 2 + 7
    root = share(tmp_path)
    async with open_store(data_dir, [("nas", True)]) as store:
        config = SinkConfig(name="nas", kind="nas", target=str(root), batch_records=count)
        nas = NasSink(config, WS, "key-1", require_mount=False)
        scheduler = SinkScheduler(nas, config, ForwardingConfig(), store, Recorder())
        p = Post(data_dir, root, config, store, scheduler)
        await add_records(store, count)
        await p.deliver()
        entry = p.entry(count - 3)
        flip(p.path(entry["file"]), entry["offset"] + 1)
        report = await p.reconcile()
        assert report.manifests == 1
        assert (report.checked, report.intact) == (count, count - 1)
        assert report.damaged.ranges == [[count - 3, count - 3]]


async def test_the_check_reads_the_share_and_writes_nothing(tmp_path: Path, data_dir: Path) -> None:
    async with post(tmp_path, data_dir) as p:
        await p.capture(2 * BATCH)
        await p.deliver()
        byte_flipped(p)
        manifest_deleted(p)
        before = tree(p.root)
        assert not (await p.reconcile()).ok
        assert tree(p.root) == before

        conn = outbox.connect(data_dir)
        try:
            with pytest.raises(nas_reconcile.ReconcileError, match="not mounted"):
                nas_reconcile.check(conn, p.config, WS, require_mount=True)
            (p.root / ".midas-share").unlink()
            with pytest.raises(nas_reconcile.ReconcileError, match="sentinel"):
                nas_reconcile.check(conn, p.config, WS, require_mount=False)
            gone = nas_config(tmp_path / "no-share")
            with pytest.raises(nas_reconcile.ReconcileError, match="does not exist"):
                nas_reconcile.check(conn, gone, WS, require_mount=False)
        finally:
            conn.close()
        assert not (tmp_path / "no-share").exists()


def test_a_hung_share_fails_the_check_instead_of_hanging(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = hung_share(data_dir, monkeypatch)
    config = nas_config(share(tmp_path), timeout=0.3)
    conn = outbox.connect(data_dir)
    try:
        with pytest.raises(nas_reconcile.ReconcileError, match=r"did not answer within 0\.3 s"):
            nas_reconcile.check(conn, config, WS, require_mount=False)
    finally:
        release.set()
        conn.close()


def hung_share(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An empty store, and a share whose mount check hangs (a stat() on a hard-mounted share
    that stopped answering) until the returned event is set (at most a minute)."""

    def hung(root: Path, sentinel: str, require_mount: bool) -> None:
        release.wait(60)
        verify_share(root, sentinel, require_mount)

    release = threading.Event()
    monkeypatch.setattr("agent.nas_manifests.verify_share", hung)
    asyncio.run(empty_store(data_dir))
    return release


async def empty_store(data_dir: Path) -> None:
    """A store with one NAS sink and nothing in it."""
    async with open_store(data_dir, [("nas", True)]):
        pass


async def test_the_command_reports_repairs_and_exits_by_the_verdict(
    tmp_path: Path, data_dir: Path
) -> None:
    async with post(tmp_path, data_dir) as p:
        config = write_config(tmp_path, data_dir, p.root)
        await p.capture(2 * BATCH)
        await p.deliver()

        code, out, err = await asyncio.to_thread(cli, config)
        assert (code, err) == (0, "")
        assert out == (
            "sink nas: 8 checked, 8 intact, 0 missing, 0 damaged, 0 unknown on the share,"
            " 2 manifests (0 damaged)\n"
        )

        records_file_truncated(p)
        before = tree(p.root)
        code, out, _ = await asyncio.to_thread(cli, config, "--json")
        assert code == 1
        (row,) = [json.loads(line) for line in out.splitlines()]
        assert row == {
            "sink": "nas",
            "checked": 8,
            "intact": 6,
            "missing": 0,
            "damaged": 2,
            "lost": 0,
            "unknown": 0,
            "manifests": 2,
            "damaged_manifests": 0,
            "missing_seqs": [],
            "damaged_seqs": [[7, 8]],
            "lost_seqs": [],
            "requeued": None,
        }
        assert tree(p.root) == before
        assert await p.undelivered() == []

        code, out, _ = await asyncio.to_thread(cli, config, "--repair")
        assert code == 1
        assert "2 damaged (seqs 7-8)" in out
        assert "re-queued 2 records" in out
        assert await p.undelivered() == [7, 8]
        await p.deliver()  # while the daemon's store is open, as in service
        code, out, _ = await asyncio.to_thread(cli, config, "--sink", "nas", "--json")
        assert code == 0
        assert json.loads(out)["intact"] == 8

        code, _, err = await asyncio.to_thread(cli, config, "--sink", "web")
        assert code == 1 and "not a NAS sink" in err
        (p.root / ".midas-share").unlink()
        before = tree(p.root)
        code, out, err = await asyncio.to_thread(cli, config)
        assert (code, out) == (1, "")
        assert "sink nas: the share's sentinel file is missing" in err
        assert tree(p.root) == before
