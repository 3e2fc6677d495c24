"""mrz-line through the real daemon: simulator bytes → committed record; garbage; unplug/replug."""

from __future__ import annotations

import asyncio
import base64
import random
from pathlib import Path
from typing import Any

from drivers.base import HealthState
from drivers.mrzline.sim import HoneywellOcrSim
from drivers.registry import Registry, default_registry
from edge.documents.mrz_gen import td1, td3
from tests.drivers.support import committed, device, device_errors, drain, stored_json, wait_for
from tests.helpers import make_config, running


def document(n: int) -> str:
    """A valid fictional passport (even n) or identity card (odd n)."""
    fields: dict[str, Any] = {
        "document_number": f"X{n:07d}",
        "surname": "SPECIMEN",
        "given_names": "TEST",
        "birth_date": "800101",
        "sex": "F",
        "expiry_date": "350101",
    }
    return td3(**fields) if n % 2 == 0 else td1(**fields)


def ocr(sim: HoneywellOcrSim, **options: Any) -> dict[str, Any]:
    return device("ocr", "mrz-line", sim, **options)


async def test_reads_become_committed_records(tmp_path: Path, data_dir: Path) -> None:
    registry: Registry = default_registry  # the installed entry point, not a test registration
    async with HoneywellOcrSim(link=tmp_path / "ocr0", seed=3, row_gap=0.01) as sim:
        sim.set_chunking((1, 64), (0, 0.003))
        config = make_config(data_dir, devices=[ocr(sim, configure=["OCRENA1!"])])
        async with running(config, registry) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            sent = [await sim.present(document(n)) for n in range(4)]
            await wait_for(lambda: app.store.writer.last_seq >= 4)
            stored = await stored_json(app)
        assert [len(s) for s in sent] == [89, 92, 89, 92]
        assert [r["format"] for r in stored] == ["td3", "td1", "td3", "td1"]
        assert [r["verdict"] for r in stored] == ["valid"] * 4
        assert [r["kind"] for r in stored] == ["document"] * 4
        assert [base64.b64decode(r["raw"]) for r in stored] == sent
        assert stored[0]["device"]["identity"]["stable_path"] == str(tmp_path / "ocr0")
        assert sim.commands == [b"\x16M\rOCRENA1!"]


async def test_garbage_is_a_visible_event_and_no_read_is_lost(
    tmp_path: Path, data_dir: Path
) -> None:
    rng = random.Random(5)
    async with HoneywellOcrSim(link=tmp_path / "ocr0", seed=4) as sim:
        # Rows may come 0.1 s apart; a read that stays incomplete longer ends in a notice.
        config = make_config(data_dir, devices=[ocr(sim, row_gap=0.1)])
        async with running(config, default_registry) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            with app.hub.subscribe() as sub:
                for n in range(12):
                    # Noise that ends in a byte no MRZ holds, then a read.
                    await sim.inject_garbage(rng.randbytes(rng.randint(1, 30)) + b"\xfe")
                    if n % 4 == 0:
                        await sim.write(b"P<UTO?" + b"<" * 38 + b"\r" + b"1" * 44)  # OCR misread
                        await asyncio.sleep(0.5)  # the misread ends at silence
                    await sim.present(document(n))
                await wait_for(lambda: app.store.writer.last_seq >= 12)
                errors = device_errors(await drain(sub))
            assert {e["code"] for e in errors} == {"noise"}
            assert all("P<UTO" not in e["message"] for e in errors)
            assert sup.health.errors >= 12
            stored = await stored_json(app)
        assert len(stored) == 12
        assert all(r["verdict"] == "valid" for r in stored)


async def test_unplug_then_replug_comes_back_without_losing_reads(
    tmp_path: Path, data_dir: Path
) -> None:
    async with HoneywellOcrSim(link=tmp_path / "ocr0", seed=6) as sim:
        # A long backoff: only the hotplug watcher can bring the reader back quickly.
        config = make_config(
            data_dir,
            devices=[ocr(sim)],
            supervision={"backoff_base": 5.0, "backoff_cap": 30.0},
        )
        async with running(config, default_registry) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            await sim.present(document(1))
            await wait_for(lambda: app.store.writer.last_seq >= 1)
            for cycle in range(2):
                await sim.write(sim.encode(document(2))[:50])  # cut by the unplug
                await sim.unplug()
                await wait_for(lambda: sup.health.state is not HealthState.READY)
                await sim.replug()
                await wait_for(lambda: sup.health.state is HealthState.READY)
                await sim.present(document(10 + cycle))
                await wait_for(committed(app, 2 + cycle))
            assert sup.health.reconnects == 2
            stored = await stored_json(app)
        assert [r["verdict"] for r in stored] == ["valid"] * 3
