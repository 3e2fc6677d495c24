"""A full disk refuses captures loudly (alarm, event, metrics) and recovers when space returns."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from edge.errors import StorageFullError
from tests.helpers import SseEvent, make_config, next_of, running, sim_device, sse_events
from tests.reliability.tmpfs import small_tmpfs


@contextlib.contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    with small_tmpfs(path, size) as mounted:
        yield mounted


def fill(path: Path) -> Path:
    """Write a ballast file until the filesystem is full."""
    ballast = path / "ballast"
    with ballast.open("wb") as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        with contextlib.suppress(OSError):
            os.fsync(f.fileno())
    return ballast


async def first_of_each(
    events: AsyncIterator[SseEvent], kinds: set[str], timeout: float = 15.0
) -> dict[str, SseEvent]:
    seen: dict[str, SseEvent] = {}
    async with asyncio.timeout(timeout):
        async for event in events:
            if event.type in kinds and event.type not in seen:
                seen[event.type] = event
                if len(seen) == len(kinds):
                    return seen
    raise AssertionError(f"stream ended; saw only {sorted(seen)}")


async def wait_for(predicate: object, timeout: float = 15.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("guard", ["min_free", "enospc"])
async def test_disk_full_refuses_then_recovers(tmp_path: Path, guard: str) -> None:
    with small_filesystem(tmp_path / "fs", "8m") as fs:
        storage = {"quota": "1GiB", "min_free": "1MiB" if guard == "min_free" else 0}
        config = make_config(
            fs / "data", devices=[sim_device("reader", interval=0.02)], storage=storage
        )
        async with running(config) as app, aiohttp.ClientSession() as http:
            auth = {"Authorization": f"Bearer {app.token}"}
            async with http.get(app.api_url + "/v1/events", headers=auth) as resp:
                events = sse_events(resp)
                await next_of(events, "record")
                ballast = fill(fs)
                seen = await first_of_each(events, {"capture_refused", "alarm"})
                assert seen["capture_refused"].data["device"] == "reader"
                assert seen["capture_refused"].data["reason"]
                assert seen["alarm"].data["code"] == "storage_full"
                assert seen["alarm"].data["active"] is True
                async with http.get(app.api_url + "/v1/health") as r:
                    health = await r.json()
                assert health["status"] == "degraded"
                assert health["store"]["refusing"]
                metrics = app.metrics.render().decode()
                assert 'midas_captures_refused_total{device="reader"' in metrics
                # The daemon keeps running; space returns; captures are stored again.
                last = app.store.writer.last_seq
                ballast.unlink()
                cleared = await next_of(events, "alarm")
                assert cleared.data == {**cleared.data, "code": "storage_full", "active": False}
                await wait_for(lambda: app.store.writer.last_seq > last + 3)
            assert await app.store.integrity_ok()


async def test_direct_blob_write_on_full_disk_is_refused(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "fs", "4m") as fs:
        config = make_config(fs / "data", storage={"quota": "1GiB", "min_free": 0})
        async with running(config) as app:
            ballast = fill(fs)
            with pytest.raises(StorageFullError, match="disk"):
                await app.store.put_blob(os.urandom(256 * 1024), "image/jpeg", role="portrait")
            ballast.unlink()
            ref = await app.store.put_blob(os.urandom(1024), "image/jpeg", role="portrait")
            assert ref.size == 1024
