"""mrz-rte through the real daemon: simulator bytes → committed record; garbage; unplug/replug."""

from __future__ import annotations

import asyncio
import base64
import random
from pathlib import Path
from typing import Any

from drivers.base import HealthState
from drivers.registry import Registry
from drivers.rte.driver import RteDriver
from drivers.rte.sim import RteSim
from edge.documents.mrz_gen import td3
from tests.drivers.support import (
    committed,
    device,
    device_errors,
    drain,
    registry_with,
    stored_json,
    wait_for,
)
from tests.helpers import make_config, running


def passport(n: int) -> str:
    return td3(
        document_number=f"X{n:07d}",
        surname="SPECIMEN",
        given_names="TEST",
        birth_date="800101",
        sex="F",
        expiry_date="350101",
    )


def reader(sim: RteSim) -> dict[str, Any]:
    return device("reader", "mrz-rte", sim)


def registry() -> Registry:
    return registry_with("mrz-rte", RteDriver)


async def test_reads_become_committed_records(tmp_path: Path, data_dir: Path) -> None:
    async with RteSim(link=tmp_path / "rte0", bcc=True, seed=3) as sim:
        sim.set_chunking((1, 64), (0, 0.003))
        config = make_config(data_dir, devices=[reader(sim)])
        async with running(config, registry()) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            sent = [await sim.present(passport(n)) for n in range(3)]
            await wait_for(lambda: app.store.writer.last_seq >= 3)
            stored = await stored_json(app)
        assert [r["format"] for r in stored] == ["td3"] * 3
        assert [r["verdict"] for r in stored] == ["valid"] * 3
        assert [r["kind"] for r in stored] == ["document"] * 3
        assert stored[0]["device"]["identity"]["stable_path"] == str(tmp_path / "rte0")
        assert stored[0]["device"]["identity"]["transport"] == "pty"
        assert [base64.b64decode(r["raw"]) for r in stored] == sent


async def test_garbage_is_a_visible_event_and_no_read_is_lost(
    tmp_path: Path, data_dir: Path
) -> None:
    rng = random.Random(5)
    async with RteSim(link=tmp_path / "rte0", bcc=True, seed=4) as sim:
        config = make_config(data_dir, devices=[reader(sim)])
        async with running(config, registry()) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            with app.hub.subscribe() as sub:
                for n in range(20):
                    await sim.inject_garbage(rng.randbytes(rng.randint(1, 30)).replace(b"\1", b""))
                    if n % 5 == 0:
                        sim.corrupt_next_bcc = True
                        await sim.present(passport(100 + n))  # rejected: bad BCC
                    await sim.present(passport(n))
                await wait_for(lambda: app.store.writer.last_seq >= 20)
                errors = device_errors(await drain(sub))
            assert {e["code"] for e in errors} >= {"noise", "bad_bcc"}
            assert all(set(e) == {"device", "code", "message", "bytes"} for e in errors)
            assert sup.health.errors >= 24
            metrics = app.metrics.render().decode()
            assert 'midas_device_errors_total{code="bad_bcc",device="reader"} 4.0' in metrics
            stored = await stored_json(app)
        assert len(stored) == 20
        assert all(r["verdict"] == "valid" for r in stored)


async def test_unplug_then_replug_comes_back_without_losing_reads(
    tmp_path: Path, data_dir: Path
) -> None:
    async with RteSim(link=tmp_path / "rte0", seed=6) as sim:
        # A long backoff: only the hotplug watcher can bring the reader back quickly.
        config = make_config(
            data_dir,
            devices=[reader(sim)],
            supervision={"backoff_base": 5.0, "backoff_cap": 30.0},
        )
        async with running(config, registry()) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            await sim.present(passport(1))
            await wait_for(lambda: app.store.writer.last_seq >= 1)
            for cycle in range(3):
                await sim.unplug()
                await wait_for(lambda: sup.health.state is not HealthState.READY)
                await asyncio.sleep(0.3)
                await sim.replug()
                # wait_for's timeout is the liveness bound; the benchmark times it.
                await wait_for(lambda: sup.health.state is HealthState.READY)
                await sim.present(passport(10 + cycle))
                await wait_for(committed(app, 2 + cycle))
            assert sup.health.reconnects == 3
            assert not app.alarms.is_active("device_failed:reader")


async def test_an_unplugged_reader_waits_absent_without_flapping(
    tmp_path: Path, data_dir: Path
) -> None:
    async with RteSim(link=tmp_path / "rte0", seed=8) as sim:
        # A fast backoff and a low restart limit: retrying opens would trip it within 0.1 s.
        config = make_config(
            data_dir,
            devices=[reader(sim)],
            supervision={"backoff_base": 0.01, "backoff_cap": 0.05, "restart_limit": 2},
        )
        async with running(config, registry()) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            await sim.unplug()
            await wait_for(lambda: sup.health.state is HealthState.ABSENT)
            errors = sup.health.errors
            await asyncio.sleep(0.5)
            assert sup.snapshot()["state"] == "absent"
            assert sup.snapshot()["detail"] == "waiting for the device to be plugged in"
            assert sup.health.errors <= errors + 10  # rechecked at the cap, not hammered
            assert not app.alarms.is_active("device_failed:reader")
            await sim.replug()
            await wait_for(lambda: sup.health.state is HealthState.READY)
            await sim.present(passport(7))
            await wait_for(lambda: app.store.writer.last_seq >= 1)
