"""Floods from a device: a burst of reads under a tiny pipeline queue, and an endless message.

Nothing acknowledged is lost, bad input is reported as typed events, and the device keeps
reading: backpressure stops the reading (the pty buffer holds the rest) instead of dropping.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.barcode.driver import BarcodeSerialDriver
from drivers.barcode.sim import BarcodeCdcSim
from drivers.base import HealthState
from drivers.registry import Registry
from edge.app import App
from edge.documents.bcbp_gen import random_bcbp
from edge.events import Event
from tests.helpers import make_config, running

READS = 400
TODAY = datetime.now(UTC).date()


def registry() -> Registry:
    reg = Registry()
    reg.register("barcode-serial", BarcodeSerialDriver)
    return reg


async def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def drain(sub: Any) -> list[Event]:
    seen: list[Event] = []
    while True:
        try:
            event = await asyncio.wait_for(sub.get(), 0.3)
        except TimeoutError:
            return seen
        if event is not None:
            seen.append(event)


async def stored(app: App) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while batch := await app.store.bodies_after(len(out), 1000):
        out.extend(json.loads(body) for _, body in batch)
    return out


async def test_a_burst_of_reads_under_backpressure_loses_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    rng = random.Random(792)
    passes = [random_bcbp(rng, scan_date=TODAY, legs=rng.randint(1, 4)) for _ in range(READS)]
    async with BarcodeCdcSim(link=tmp_path / "scan0", seed=1) as sim:
        config = make_config(
            data_dir,
            devices=[{"name": "scanner", "driver": "barcode-serial", "url": sim.url}],
            pipeline={"queue_size": 2},
        )
        async with running(config, registry()) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            burst = b""
            for n, boarding_pass in enumerate(passes):
                if n % 50 == 25:
                    burst += rng.randbytes(20).replace(b"\r", b"").replace(b"]", b"")
                burst += sim.encode(boarding_pass)
            with app.hub.subscribe() as sub:
                await sim.write(burst)  # one write: the whole burst lands at once
                await wait_for(lambda: app.store.writer.last_seq >= READS)
                events = await drain(sub)
            records = await stored(app)
            assert sup.health.state is HealthState.READY
    assert [r["payload"]["text"] for r in records] == passes  # all of them, in order
    assert all(r["format"] == "bcbp" and r["verdict"] == "valid" for r in records)
    errors = [json.loads(e.data) for e in events if e.type == "device_error"]
    assert len(errors) >= READS // 50
    assert {e["code"] for e in errors} <= {"noise", "truncated", "bad_code_id"}


async def test_an_endless_message_is_cut_off_and_the_next_read_arrives(
    tmp_path: Path, data_dir: Path
) -> None:
    rng = random.Random(7)
    async with BarcodeCdcSim(link=tmp_path / "scan0", seed=2) as sim:
        config = make_config(
            data_dir, devices=[{"name": "scanner", "driver": "barcode-serial", "url": sim.url}]
        )
        async with running(config, registry()) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            with app.hub.subscribe() as sub:
                await sim.write(b"]Q1" + b"A" * 200_000)  # a scanner that never ends its read
                good = random_bcbp(rng, scan_date=TODAY)
                await sim.present(good)
                await wait_for(lambda: app.store.writer.last_seq >= 1)
                events = await drain(sub)
            (record,) = await stored(app)
            assert record["payload"]["text"] == good
            errors = [json.loads(e.data) for e in events if e.type == "device_error"]
            assert "overflow" in {e["code"] for e in errors}
            assert all("AAAA" not in e["message"] for e in errors)
            assert sup.health.reconnects == 0
