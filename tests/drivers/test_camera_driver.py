"""The camera driver's failure handling, options, lifecycle and barcodes, on real OpenCV sources.

A frozen, stalled or failing feed ends `events()` with a DriverError after a Notice naming
it; an unplugged camera ends it with DeviceUnavailable.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from drivers.base import CaptureKind, DeviceUnavailable, DriverError, Event, HealthState, Notice
from drivers.camera.driver import CameraDriver
from drivers.camera.settings import camera_settings
from drivers.camera.sim import CameraSim
from drivers.camera.synthetic import frame_index
from drivers.registry import Registry
from tests.drivers.camera_support import (
    EVENT_TIMEOUT_S,
    SMALL,
    camera_threads,
    codes,
    events_until_end,
    next_capture,
    opened,
    qr,
)

SYNTHETIC = "sim://camera?size=96x64"


def test_the_camera_family_is_an_installed_entry_point() -> None:
    cls = Registry().get("camera")
    assert cls is CameraDriver
    assert cls.name == "camera"


async def test_a_frozen_picture_ends_the_feed() -> None:
    async with opened(f"{SYNTHETIC}&freeze_at=5", frozen_after=0.3) as driver:
        events, error = await events_until_end(driver)
        assert codes(events) == ["frozen"]
        assert type(error) is DriverError
        assert "frozen" in str(error)
        assert driver.health().errors == 1


async def test_a_frozen_image_sequence_is_detected(tmp_path: Path) -> None:
    async with CameraSim(tmp_path / "cam0", count=8, fps=30.0) as sim:
        async with opened(sim.url, fps=30.0, frozen_after=0.3) as driver:
            await sim.freeze()
            events, error = await events_until_end(driver)
            assert codes(events) == ["frozen"]
            assert type(error) is DriverError
            frame = driver.latest_frame()
            assert frame is not None
            assert frame_index(frame.image) == 7  # the last picture, repeated
        await sim.resume()
        async with opened(sim.url, fps=30.0, frozen_after=0.3) as driver:
            pictures: set[int] = set()
            seq = 0
            while len(pictures) < 3:  # moving again
                frame = await driver.next_frame(seq, EVENT_TIMEOUT_S)
                assert frame is not None
                seq = frame.seq
                pictures.add(frame_index(frame.image))


async def test_a_read_that_never_returns_is_a_stall() -> None:
    # stall_frames of 4 at 20 fps is 0.2 s, raised to the 0.5 s floor.
    async with opened(f"{SYNTHETIC}&stall_at=3", fps=20.0, stall_frames=4) as driver:
        events, error = await events_until_end(driver)
        assert codes(events) == ["stalled"]
        assert type(error) is DriverError
    assert camera_threads() == []  # close() ended the blocked read


async def test_failing_reads_are_reported_then_end_the_feed() -> None:
    # read_timeout leaves the 50 ms watchdog ample time to report the run first, even on a
    # loaded machine.
    async with opened(f"{SYNTHETIC}&fail_at=3", read_timeout=2.0) as driver:
        events = driver.events()
        first = await anext(events)
        assert isinstance(first, Notice)
        assert first.code == "read_failed"
        assert "in a row" in first.message
        assert driver.health().errors == 1
        second = await anext(events)
        assert isinstance(second, Notice)
        assert second.code == "read_failed"
        assert "every read failed" in second.message
        with pytest.raises(DriverError, match="read_failed"):
            await anext(events)
        assert driver.health().state is HealthState.DEGRADED
        assert driver.health().errors == 2


async def test_an_image_sequence_whose_frames_go_fails_its_reads(tmp_path: Path) -> None:
    async with CameraSim(tmp_path / "cam0", count=6) as sim:
        async with opened(sim.url, read_timeout=0.3) as driver:
            await sim.fail()
            events, error = await events_until_end(driver)
            assert codes(events) == ["read_failed", "read_failed"]
            assert type(error) is DriverError
        with pytest.raises(DeviceUnavailable):  # nothing to open while the frames are gone
            await CameraDriver(sim.url, SMALL).open()


@pytest.mark.parametrize("mode", ["video", "images"])
async def test_unplug_is_device_unavailable_and_replug_opens_again(
    tmp_path: Path, mode: Any
) -> None:
    async with CameraSim(tmp_path / "cam0", mode=mode, count=6) as sim:
        async with opened(sim.url) as driver:
            assert driver.presence_path() == str(tmp_path / "cam0")
            await sim.unplug()
            events, error = await events_until_end(driver)
            assert codes(events) == ["unplugged"]
            assert isinstance(error, DeviceUnavailable)
        with pytest.raises(DeviceUnavailable):
            await CameraDriver(sim.url, SMALL).open()
        await sim.replug()
        async with opened(sim.url) as driver:
            frame = await driver.next_frame(0, EVENT_TIMEOUT_S)
            assert frame is not None
            assert frame_index(frame.image) >= 6  # the second generation's pictures


async def test_close_is_idempotent_ends_the_thread_and_wakes_waiters() -> None:
    driver = CameraDriver(SYNTHETIC, SMALL)
    await driver.open()
    await driver.open()
    assert camera_threads() == [f"camera:{SYNTHETIC}"]
    frame = await driver.next_frame(0, EVENT_TIMEOUT_S)
    assert frame is not None

    async def first_event() -> Event:
        return await anext(driver.events())

    waiter = asyncio.create_task(driver.next_frame(10**9, EVENT_TIMEOUT_S))
    reader = asyncio.create_task(first_event())
    await asyncio.sleep(0)
    await driver.close()
    await driver.close()
    assert await waiter is None
    with pytest.raises(DeviceUnavailable, match="closed"):
        await reader
    assert camera_threads() == []
    assert driver.latest_frame() is None
    assert driver.health().state is HealthState.ABSENT
    await driver.open()  # and opens again, numbering frames on
    again = await driver.next_frame(frame.seq, EVENT_TIMEOUT_S)
    assert again is not None
    assert again.seq > frame.seq
    await driver.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": True}, "unknown option 'colour'"),
        ({"width": "640"}, "width: expected a whole number"),
        ({"fps": 0}, "fps: expected at least 0.5"),
        ({"fourcc": "MJPEG"}, "fourcc: expected four printable ASCII characters"),
        ({"frozen_after": -1}, "frozen_after: expected at least 0"),
        ({"read_timeout": "2s"}, "read_timeout: expected a number"),
        ({"loop": "yes"}, "loop: expected true or false"),
        ({"barcodes": "qr"}, "barcodes: expected list"),
        ({"barcodes": ["qr", 7]}, "barcodes: expected a list of format names"),
        ({"barcodes": ["morse"]}, "cannot read 'morse'"),
        ({"barcodes": ["pdf417"], "barcode_backend": "zbar"}, "zbar decoder cannot read 'pdf417'"),
        ({"barcode_backend": "tesseract"}, "barcode_backend: expected one of 'zxing', 'zbar'"),
        ({"scan_fps": 0.0}, "scan_fps: expected at least 0.1"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        CameraDriver.validate_options(options)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        CameraDriver(SYNTHETIC, options)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://camera", "expected a device or file path"),
        ("v4l2://front", "expected v4l2://N"),
        ("file://host/x.avi", "expected file:///absolute/path"),
        ("sim://camera?colour=1", "unknown sim camera parameter 'colour'"),
        ("sim://camera?size=big", "size: expected two whole numbers"),
        ("sim://camera?size=8x8", "size: expected at least 64x48"),
        ("sim://camera?paste=/nonexistent.png", "paste names no readable image file"),
    ],
)
async def test_a_bad_url_fails_the_open_with_a_typed_error(url: str, message: str) -> None:
    driver = CameraDriver(url, SMALL)
    with pytest.raises(DriverError, match=message):
        await driver.open()
    assert driver.health().state is HealthState.ABSENT
    assert camera_threads() == []


async def test_a_missing_path_is_device_unavailable(tmp_path: Path) -> None:
    for url in (str(tmp_path / "absent.avi"), f"{tmp_path}/absent/frame%04d.png", "v4l2://99"):
        with pytest.raises(DeviceUnavailable):
            await CameraDriver(url, SMALL).open()
    assert CameraDriver("v4l2://99").presence_path() == "/dev/video99"
    assert CameraDriver(f"file://{tmp_path}/a.avi").presence_path() == f"{tmp_path}/a.avi"
    assert CameraDriver(SYNTHETIC).presence_path() is None


async def test_a_file_that_is_no_video_or_a_folder_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "clip.avi"
    garbage.write_bytes(b"not a video " * 100)
    with pytest.raises(DeviceUnavailable, match="did not open as a file source"):
        await CameraDriver(str(garbage), SMALL).open()
    with pytest.raises(DriverError, match="neither a camera, a video file nor an image sequence"):
        await CameraDriver(str(tmp_path), SMALL).open()
    assert camera_threads() == []


async def test_barcodes_in_the_frames_become_captures(tmp_path: Path) -> None:
    code = qr("M1SPECIMEN/TEST EABC123")
    options = {"barcodes": ["qr"], "scan_fps": 15.0}
    async with (
        CameraSim(tmp_path / "cam0", count=6, overlay=code) as sim,
        opened(sim.url, **options) as driver,
    ):
        capture = await next_capture(driver)
        assert capture.kind is CaptureKind.BARCODE
        assert capture.payload == b"M1SPECIMEN/TEST EABC123"
        assert capture.symbology == "qr"
        assert capture.meta["source"] == "camera"


def test_barcode_read_rules_are_options() -> None:
    settings = camera_settings(
        {"barcodes": ["itf"], "barcode_itf_check": True, "barcode_min_length": {"itf": 14}}
    )
    assert settings.read_rules.itf_check_digit is True
    assert settings.read_rules.minimum("itf") == 14
    with pytest.raises(ValueError, match="barcode_min_length"):
        camera_settings({"barcode_min_length": {"klingon": 3}})
    with pytest.raises(ValueError, match="barcode_itf_check"):
        camera_settings({"barcode_itf_check": "yes"})
