"""access-stx through the real daemon: boarding pass bytes → committed record; noise; hotplug."""

from __future__ import annotations

import base64
import datetime
import random
from pathlib import Path
from typing import Any

from drivers.access.sim import AccessStxSim
from drivers.base import HealthState
from drivers.registry import default_registry
from edge.documents.bcbp_gen import random_bcbp
from tests.drivers.support import committed, device, device_errors, drain, stored_json, wait_for
from tests.helpers import make_config, running

RNG = random.Random(7920)


def boarding_pass() -> str:
    """A valid fictional pass scanned today, long enough for several USB packets."""
    text = random_bcbp(RNG, scan_date=datetime.datetime.now(datetime.UTC).date(), legs=2)
    assert len(text) >= 60
    return text


def access(sim: AccessStxSim) -> dict[str, Any]:
    return device("access", "access-stx", sim)


async def test_reads_become_committed_records(tmp_path: Path, data_dir: Path) -> None:
    async with AccessStxSim(link=tmp_path / "acc0", seed=3) as sim:
        sim.set_chunking((1, 64), (0, 0.003))
        config = make_config(data_dir, devices=[access(sim)])
        async with running(config, default_registry) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            sent = []
            for symbology in ("pdf417", "qr", "aztec"):
                sim.symbology = symbology
                sent.append(await sim.present(boarding_pass()))
            await wait_for(lambda: app.store.writer.last_seq >= 3)
            stored = await stored_json(app)
        assert [r["kind"] for r in stored] == ["barcode"] * 3
        assert [r["format"] for r in stored] == ["bcbp"] * 3
        assert [r["verdict"] for r in stored] == ["valid"] * 3
        assert [r["payload"]["symbology"] for r in stored] == ["pdf417", "qr", "aztec"]
        assert [base64.b64decode(r["raw"]) for r in stored] == sent
        assert all(raw[:1] == b"\x02" and raw[-2:] == b"\r\x03" for raw in sent)


async def test_noise_is_a_visible_event_and_no_read_is_lost(tmp_path: Path, data_dir: Path) -> None:
    rng = random.Random(5)
    async with AccessStxSim(link=tmp_path / "acc0", seed=4) as sim:
        config = make_config(data_dir, devices=[access(sim)])
        async with running(config, default_registry) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            with app.hub.subscribe() as sub:
                for n in range(10):
                    await sim.inject_garbage(rng.randbytes(rng.randint(1, 30)).replace(b"\2", b""))
                    if n % 3 == 0:
                        frame = sim.encode(boarding_pass())
                        await sim.write(frame[:20] + b"\xe5" + frame[20:])  # parity slip
                    await sim.present(boarding_pass())
                await wait_for(lambda: app.store.writer.last_seq >= 10)
                errors = device_errors(await drain(sub))
            assert {e["code"] for e in errors} == {"noise"}
            assert sup.health.errors >= 14
            stored = await stored_json(app)
        assert len(stored) == 10
        assert all(r["verdict"] == "valid" for r in stored)


async def test_unplug_then_replug_comes_back_without_losing_reads(
    tmp_path: Path, data_dir: Path
) -> None:
    async with AccessStxSim(link=tmp_path / "acc0", seed=6) as sim:
        config = make_config(
            data_dir,
            devices=[access(sim)],
            supervision={"backoff_base": 5.0, "backoff_cap": 30.0},
        )
        async with running(config, default_registry) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            await sim.present(boarding_pass())
            await wait_for(lambda: app.store.writer.last_seq >= 1)
            for cycle in range(2):
                await sim.write(sim.encode(boarding_pass())[:30])  # cut by the unplug
                await sim.unplug()
                await wait_for(lambda: sup.health.state is not HealthState.READY)
                await sim.replug()
                await wait_for(lambda: sup.health.state is HealthState.READY)
                await sim.present(boarding_pass())
                await wait_for(committed(app, 2 + cycle))
            assert sup.health.reconnects == 2
            stored = await stored_json(app)
        assert [r["verdict"] for r in stored] == ["valid"] * 3
