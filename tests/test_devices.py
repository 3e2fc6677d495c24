"""Device supervision: crashes restart with backoff, flapping turns FAILED once, others go on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from drivers.base import (
    Capture,
    CaptureKind,
    DeviceIdentity,
    DeviceKind,
    DeviceUnavailable,
    Driver,
    Event,
    HealthState,
    now_ms,
)
from drivers.registry import Registry
from drivers.sim.driver import SimDriver
from tests.helpers import make_config, running, sim_device

OPENS: dict[str, int] = {}


class CrashingDriver(Driver):
    """Emits `per_session` captures, then raises as a buggy driver would."""

    name: ClassVar[str] = "crashing"
    kind: ClassVar[DeviceKind] = DeviceKind.BARCODE

    @classmethod
    def validate_options(cls, options: Any) -> None:
        return None

    def identify(self) -> DeviceIdentity:
        return DeviceIdentity(DeviceKind.BARCODE, self.name, "test", node=self.url)

    async def _open(self) -> None:
        OPENS[self.url] = OPENS.get(self.url, 0) + 1
        if self.options.get("absent"):
            raise DeviceUnavailable("no such device")

    async def _close(self) -> None:
        return None

    async def events(self) -> AsyncIterator[Event]:
        for _ in range(int(self.options.get("per_session", 0))):
            await asyncio.sleep(0.001)
            yield Capture(CaptureKind.BARCODE, b"123", now_ms(), text="123", symbology="code128")
        raise RuntimeError("driver bug")


def crashing(name: str, url: str = "", **options: object) -> dict[str, object]:
    return {"name": name, "driver": "crashing", "url": url or f"sim://{name}", "options": options}


def registry() -> Registry:
    reg = Registry()
    reg.register("sim", SimDriver)
    reg.register("crashing", CrashingDriver)
    return reg


FAST = {"backoff_base": 0.01, "backoff_cap": 0.05, "restart_limit": 4, "restart_window": 60.0}


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_crashing_device_is_restarted_and_others_unaffected(data_dir: Path) -> None:
    OPENS.clear()
    config = make_config(
        data_dir,
        devices=[
            crashing("bad", per_session=2),
            sim_device("good", interval=0.01),
        ],
        supervision={**FAST, "restart_limit": 1000},
    )
    async with running(config, registry()) as app:
        await wait_for(lambda: OPENS.get("sim://bad", 0) >= 4)
        bad, good = app.supervisors
        assert bad.health.errors >= 3
        assert bad.health.reconnects >= 3
        # Captures read before each crash were not lost.
        await wait_for(lambda: bad.health.reads >= 6)
        # The healthy device kept reading the whole time.
        assert good.health.state is HealthState.READY
        assert good.health.reconnects == 0
        before = good.health.reads
        await wait_for(lambda: good.health.reads > before + 5)
    assert app.store.writer.last_seq >= 6


async def test_flapping_device_fails_with_one_alarm(data_dir: Path) -> None:
    OPENS.clear()
    config = make_config(
        data_dir,
        devices=[crashing("flappy", url="sim://flap")],
        supervision=FAST,
    )
    raised = []
    async with running(config, registry()) as app:
        app.alarms.add_listener(lambda a: raised.append((a.code, a.active)))
        (sup,) = app.supervisors
        await wait_for(lambda: sup.health.state is HealthState.FAILED)
        assert app.alarms.is_active("device_failed:flappy")
        opens_at_failure = OPENS["sim://flap"]
        await wait_for(lambda: OPENS["sim://flap"] >= opens_at_failure + 3)
        # Still retried (a replug would bring it back), but the alarm was raised once.
        assert raised == [("device_failed:flappy", True)]
        assert (
            'midas_alarm_active{code="device_failed:flappy"} 1.0' in app.metrics.render().decode()
        )


async def test_absent_device_reports_absent(data_dir: Path) -> None:
    config = make_config(
        data_dir,
        devices=[crashing("gone", absent=True)],
        supervision={**FAST, "restart_limit": 1000},
    )
    async with running(config, registry()) as app:
        (sup,) = app.supervisors
        await wait_for(lambda: sup.health.errors >= 2)
        assert sup.health.state in (HealthState.ABSENT, HealthState.OPENING)
        assert sup.snapshot()["detail"] in ("no such device", "")


async def test_recovered_device_clears_its_alarm(data_dir: Path) -> None:
    OPENS.clear()
    config = make_config(
        data_dir,
        devices=[crashing("flappy", url="sim://heal")],
        supervision={**FAST, "stable_after": 0.2},
    )
    async with running(config, registry()) as app:
        (sup,) = app.supervisors
        await wait_for(lambda: sup.health.state is HealthState.FAILED)
        # "Replug" a healthy device behind the same name.
        sup._factory = lambda: SimDriver("sim://heal", {"interval": 0.05})
        await wait_for(lambda: not app.alarms.is_active("device_failed:flappy"))
        assert sup.health.state is HealthState.READY
