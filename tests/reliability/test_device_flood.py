"""Floods from a device: a burst of reads under a tiny pipeline queue, and an endless message.

Nothing acknowledged is lost, bad input is reported as typed events, and the device keeps
reading: backpressure stops the reading (the pty buffer holds the rest) instead of dropping.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from drivers.barcode.driver import BarcodeSerialDriver
from drivers.barcode.sim import BarcodeCdcSim
from drivers.base import HealthState
from edge.documents.bcbp_gen import random_bcbp
from tests.drivers.support import device_errors, drain, registry_with, stored_json, wait_for
from tests.helpers import make_config, running

READS = 400
TODAY = datetime.now(UTC).date()


# The whole flood through the daemon takes longer than a driver test's usual wait.
FLOOD_TIMEOUT_S = 60.0


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
        async with running(config, registry_with("barcode-serial", BarcodeSerialDriver)) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY, FLOOD_TIMEOUT_S)
            burst = b""
            for n, boarding_pass in enumerate(passes):
                if n % 50 == 25:
                    burst += rng.randbytes(20).replace(b"\r", b"").replace(b"]", b"")
                burst += sim.encode(boarding_pass)
            with app.hub.subscribe() as sub:
                await sim.write(burst)  # one write: the whole burst lands at once
                await wait_for(lambda: app.store.writer.last_seq >= READS, FLOOD_TIMEOUT_S)
                events = await drain(sub)
            records = await stored_json(app)
            assert sup.health.state is HealthState.READY
    assert [r["payload"]["text"] for r in records] == passes  # all of them, in order
    assert all(r["format"] == "bcbp" and r["verdict"] == "valid" for r in records)
    errors = device_errors(events)
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
        async with running(config, registry_with("barcode-serial", BarcodeSerialDriver)) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY, FLOOD_TIMEOUT_S)
            with app.hub.subscribe() as sub:
                await sim.write(b"]Q1" + b"A" * 200_000)  # a scanner that never ends its read
                good = random_bcbp(rng, scan_date=TODAY)
                await sim.present(good)
                await wait_for(lambda: app.store.writer.last_seq >= 1, FLOOD_TIMEOUT_S)
                events = await drain(sub)
            (record,) = await stored_json(app)
            assert record["payload"]["text"] == good
            errors = device_errors(events)
            assert "overflow" in {e["code"] for e in errors}
            assert all("AAAA" not in e["message"] for e in errors)
            assert sup.health.reconnects == 0
