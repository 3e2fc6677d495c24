"""The camera through the real daemon: a frozen feed is reopened and recovers, an unplugged camera
waits ABSENT and comes back on replug, barcodes in its frames become committed records."""

from __future__ import annotations

import base64
import datetime
import random
from pathlib import Path
from typing import Any

from drivers.base import HealthState
from drivers.camera.driver import CameraDriver
from drivers.camera.sim import CameraSim
from drivers.camera.synthetic import frame_index
from drivers.registry import Registry, default_registry
from edge.documents.bcbp_gen import random_bcbp
from tests.drivers.camera_support import EVENT_TIMEOUT_S, SMALL, qr
from tests.drivers.support import device_errors, drain, registry_with, stored_json, wait_for
from tests.helpers import make_config, running


def camera(sim: CameraSim, **options: Any) -> dict[str, Any]:
    """A `[[devices]]` entry for the simulated camera."""
    return {
        "name": "cam",
        "driver": "camera",
        "url": sim.url,
        "options": {**SMALL, **sim.options(), **options},
    }


def tracking() -> tuple[Registry, list[CameraDriver]]:
    """A registry whose camera driver remembers each instance the supervisor opens."""
    instances: list[CameraDriver] = []

    class TrackedCamera(CameraDriver):
        def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
            super().__init__(url, options)
            instances.append(self)

    return registry_with("camera", TrackedCamera), instances


async def moving_pictures(driver: CameraDriver, count: int = 3) -> set[int]:
    """`count` different pictures from `driver` (it is not frozen)."""
    pictures: set[int] = set()
    seq = 0
    while len(pictures) < count:
        frame = await driver.next_frame(seq, EVENT_TIMEOUT_S)
        assert frame is not None, "the camera closed while pictures were awaited"
        seq = frame.seq
        pictures.add(frame_index(frame.image))
    return pictures


async def test_a_frozen_camera_is_reopened_and_recovers(tmp_path: Path, data_dir: Path) -> None:
    registry, instances = tracking()
    async with CameraSim(tmp_path / "usb-cam-video-index0", count=8) as sim:
        config = make_config(
            data_dir,
            devices=[camera(sim, frozen_after=0.3)],
            supervision={"backoff_base": 0.05, "backoff_cap": 0.2, "restart_limit": 100},
        )
        async with running(config, registry) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            assert sup.identity["width"] == "320"
            assert sup.identity["stable_path"] == str(tmp_path / "usb-cam-video-index0")
            with app.hub.subscribe() as sub:
                await sim.freeze()
                await wait_for(lambda: sup.health.reconnects >= 1)
                await sim.resume()
                await wait_for(lambda: sup.health.state is HealthState.READY)
                pictures = await moving_pictures(instances[-1])
                errors = device_errors(await drain(sub))
            assert all(p < 8 for p in pictures)
            assert sup.health.state is HealthState.READY
            assert "frozen" in {e["code"] for e in errors}
            metrics = app.metrics.render().decode()
            assert 'midas_device_errors_total{code="frozen",device="cam"}' in metrics


async def test_an_unplugged_camera_waits_absent_and_comes_back_on_replug(
    tmp_path: Path, data_dir: Path
) -> None:
    registry, instances = tracking()
    async with CameraSim(tmp_path / "usb-cam-video-index0", mode="video", count=8) as sim:
        # A long backoff: only the hotplug watcher can bring the camera back quickly.
        config = make_config(
            data_dir,
            devices=[camera(sim)],
            supervision={"backoff_base": 5.0, "backoff_cap": 30.0},
        )
        async with running(config, registry) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state is HealthState.READY)
            await sim.unplug()
            await wait_for(lambda: sup.health.state is HealthState.ABSENT)
            assert sup.snapshot()["detail"] == "waiting for the device to be plugged in"
            await sim.replug()
            await wait_for(lambda: sup.health.state is HealthState.READY)
            assert len(instances) == 2
            pictures = await moving_pictures(instances[-1])
            assert all(p >= 8 for p in pictures)  # the second plug-in's pictures
            assert sup.health.reconnects == 1
            assert not app.alarms.is_active("device_failed:cam")


async def test_a_boarding_pass_in_view_becomes_a_committed_record(
    tmp_path: Path, data_dir: Path
) -> None:
    today = datetime.datetime.now(datetime.UTC).date()
    text = random_bcbp(random.Random(11), scan_date=today, legs=1)
    async with CameraSim(tmp_path / "cam0", count=6, overlay=qr(text, scale=2)) as sim:
        config = make_config(data_dir, devices=[camera(sim, barcodes=["qr", "pdf417"])])
        async with running(config, default_registry) as app:  # the installed entry point
            await wait_for(lambda: app.store.writer.last_seq >= 1)
            (record,) = await stored_json(app)
    assert (record["kind"], record["format"], record["verdict"]) == ("barcode", "bcbp", "valid")
    assert base64.b64decode(record["raw"]) == text.encode()
    assert record["payload"]["symbology"] == "qr"
    identity = record["device"]["identity"]
    assert (identity["driver"], identity["kind"], identity["transport"]) == (
        "camera",
        "camera",
        "file",
    )
    assert (identity["width"], identity["height"]) == ("320", "240")
