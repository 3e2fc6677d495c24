"""What a check reads: records still held in full (they can be repaired), purged ones only as far
as their manifest and their files' sizes tell (they can only be reported lost), so a daily check
does not read the share's whole history again."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Generator
from pathlib import Path

import pytest

from agent.nas_manifests import Ask, Seen, ShareReader
from agent.retention import Retention
from tests.agent.support import WAIT_S
from tests.agent.test_nas_reconcile import BATCH, Post, flip, post


async def purge_all(p: Post) -> None:
    """Retention purges every record delivered so far: their bodies are tombstones now."""
    later = lambda: time.time() + 60  # noqa: E731  # the retention time has passed
    assert await Retention(p.store, 0.0, clock=later).run_once() > 0


def image_of(p: Post, seq: int) -> Path:
    return p.path(p.entry(seq)["blobs"][0]["file"])


async def test_a_purged_record_damaged_without_a_change_of_size_is_not_found(
    tmp_path: Path, data_dir: Path
) -> None:
    async with post(tmp_path, data_dir) as p:
        await p.capture(BATCH)
        await p.deliver()
        await purge_all(p)  # 1-4 purged
        await p.capture(BATCH, start=BATCH)
        await p.deliver()  # 5-8 still held
        for seq in (2, 6):  # an image with other bytes of the same size
            image = image_of(p, seq)
            size = image.stat().st_size
            flip(image, size // 2)
            assert image.stat().st_size == size
        entry = p.entry(3)
        flip(p.path(entry["file"]), entry["offset"] + entry["size"] // 2)  # its records file too

        report = await p.reconcile()
        # The held record is read and hashed: damaged, and repaired below. The purged ones are
        # only looked at by size: not found (the documented limit; they could not be repaired).
        assert report.damaged.ranges == [[6, 6]]
        assert (report.lost.count, report.missing.count) == (0, 0)
        assert (report.checked, report.intact) == (BATCH, BATCH - 1)

        repaired = await p.reconcile(repair=True)
        assert repaired.requeued == 1
        await p.deliver()
        again = await p.reconcile()
        assert (again.intact, again.lost.count, again.ok) == (BATCH, 0, True)


async def test_a_purged_record_with_a_file_or_its_manifest_gone_is_lost(
    tmp_path: Path, data_dir: Path
) -> None:
    async with post(tmp_path, data_dir) as p:
        await p.capture(2 * BATCH)
        await p.deliver()
        await purge_all(p)  # 1-8 purged
        clean = await p.reconcile()
        assert (clean.checked, clean.lost.count, clean.ok) == (0, 0, True)

        image_of(p, 2).unlink()  # an image gone
        os.truncate(image_of(p, 3), 5)  # an image cut short
        entry = p.entry(4)  # the last in its records file, cut short
        os.truncate(p.path(entry["file"]), entry["offset"] + entry["size"] - 1)
        p.manifest_of(5).unlink()  # 5-8: no manifest names them

        report = await p.reconcile(repair=True)
        assert (report.lost.count, report.lost.ranges) == (7, [[2, 8]])
        assert (report.checked, report.requeued) == (0, None)  # nothing can be sent again
        assert not report.ok


async def test_a_record_purged_while_the_check_runs_is_judged_as_purged(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with post(tmp_path, data_dir) as p:
        await p.capture(BATCH)
        await p.deliver()
        loop = asyncio.get_running_loop()
        findings = ShareReader.findings

        def purge_first(
            reader: ShareReader, timeout: float, stop: threading.Event | None = None
        ) -> Generator[Ask | list[Seen] | bool, None, None]:
            # The check took its delivered set already; retention purges them all before the
            # share is read, so every body the check looks at is a tombstone now.
            asyncio.run_coroutine_threadsafe(purge_all(p), loop).result(WAIT_S)
            return findings(reader, timeout, stop)

        monkeypatch.setattr(ShareReader, "findings", purge_first)
        report = await p.reconcile()
        # Intact on the share, judged by their manifest lines: not "damaged".
        assert (report.damaged.count, report.missing.count, report.lost.count) == (0, 0, 0)
        assert (report.checked, report.intact, report.ok) == (BATCH, BATCH, True)
