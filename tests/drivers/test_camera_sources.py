"""The camera driver on real OpenCV sources: an MJPG AVI, a PNG sequence, the synthetic picture.

What it negotiated is read back and reported; only the newest frame is kept; frames are
read-only and shared, never copied.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import pytest

from drivers.base import DriverError, HealthState
from drivers.camera.sim import CameraSim
from drivers.camera.synthetic import frame_index
from tests.drivers.camera_support import (
    EVENT_TIMEOUT_S,
    codes,
    events_until_end,
    opened,
    qr,
)
from tests.drivers.support import wait_for


async def test_the_negotiated_mode_is_read_back_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "usb-Acme_Cam_0001-video-index0"
    async with CameraSim(link, mode="video", size=(320, 240), fps=25.0, count=10) as sim:
        caplog.set_level(logging.INFO, logger="midas_edge.camera")
        # Asks for 640x480: a camera (here a file) that cannot gives what it has.
        async with opened(sim.url, width=640, height=480, fps=25.0) as driver:
            identity = driver.identify()
            assert (identity.fourcc, identity.width, identity.height) == ("MJPG", 320, 240)
            assert identity.fps == 25.0
            assert identity.transport == "file"
            assert identity.stable_path == str(link)
            assert identity.node == str(link.resolve())
            assert identity.as_dict()["width"] == "320"
            health = driver.health()
            assert health.state is HealthState.READY
            assert health.detail == "MJPG 320x240 at 25 fps"
            frame = await driver.next_frame(0, EVENT_TIMEOUT_S)
            assert frame is not None
            assert (frame.width, frame.height) == (320, 240)
            assert frame.image.shape == (240, 320, 3)
    (record,) = [r for r in caplog.records if r.getMessage() == "camera opened"]
    assert record.__dict__["requested"] == "MJPG 640x480 at 25 fps"
    assert record.__dict__["negotiated"] == "MJPG 320x240 at 25 fps"


async def test_an_image_sequence_is_played_in_order_and_looped(tmp_path: Path) -> None:
    async with (
        CameraSim(tmp_path / "cam0", mode="images", count=6, fps=30.0) as sim,
        opened(sim.url, fps=30.0) as driver,
    ):
        identity = driver.identify()
        assert (identity.transport, identity.fourcc) == ("file", "")
        assert identity.stable_path == str(tmp_path / "cam0")
        indices: list[int] = []
        seq = 0
        while len(indices) < 3 or indices[-1] >= indices[-2]:  # until it wraps round
            frame = await driver.next_frame(seq, EVENT_TIMEOUT_S)
            assert frame is not None
            assert frame.seq > seq
            seq = frame.seq
            indices.append(frame_index(frame.image))
        assert all(0 <= i < 6 for i in indices)
        assert indices[-1] < indices[-2]  # back at the start: the sequence loops


async def test_the_synthetic_camera_delivers_the_requested_size_or_its_own() -> None:
    async with opened("sim://camera?seed=4", width=160, height=120) as driver:
        frame = await driver.next_frame(0, EVENT_TIMEOUT_S)
        assert frame is not None
        assert (frame.width, frame.height) == (160, 120)
        assert driver.identify().transport == "sim"
    async with opened("sim://camera?size=96x64", width=640, height=480) as driver:
        identity = driver.identify()
        assert (identity.width, identity.height) == (96, 64)
        assert driver.health().detail == "raw 96x64 at 30 fps"


async def test_a_slow_consumer_gets_the_newest_frame_not_a_backlog() -> None:
    async with opened("sim://camera?size=96x64", fps=100.0) as driver:
        first = await driver.next_frame(0, EVENT_TIMEOUT_S)
        assert first is not None
        # The consumer is busy while frames keep coming.
        await wait_for(lambda: (f := driver.latest_frame()) is not None and f.seq >= first.seq + 5)
        second = await driver.next_frame(first.seq, EVENT_TIMEOUT_S)
        assert second is not None
        assert second.seq >= first.seq + 5  # not first.seq + 1: nothing queued up
        latest = driver.latest_frame()
        assert latest is not None
        assert latest.seq >= second.seq
        # The picture is the one numbered with it (synthetic frame n carries n; seq n + 1).
        assert frame_index(second.image) == second.seq - 1


async def test_frames_are_handed_by_reference_and_read_only() -> None:
    async with opened("sim://camera?size=96x64&stall_at=2", stall_frames=10_000) as driver:
        frame = await driver.next_frame(1, EVENT_TIMEOUT_S)  # the last one this camera sends
        assert frame is not None
        assert driver.latest_frame() is frame  # the same object every time: no copies
        assert not frame.image.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            frame.image[0, 0, 0] = 1


async def test_next_frame_waits_and_gives_none_on_timeout() -> None:
    async with opened("sim://camera?size=96x64&stall_at=3", stall_frames=10_000) as driver:
        await wait_for(lambda: (f := driver.latest_frame()) is not None and f.seq == 3)
        assert await driver.next_frame(3, 0.1) is None  # no fourth frame ever comes
        frame = await driver.next_frame(2, 0.1)
        assert frame is not None
        assert frame.seq == 3


async def test_a_video_played_once_ends_with_a_notice(tmp_path: Path) -> None:
    async with (
        CameraSim(tmp_path / "cam0", mode="video", count=5, fps=50.0) as sim,
        opened(sim.url, fps=50.0, loop=False) as driver,
    ):
        events, error = await events_until_end(driver)
        assert codes(events) == ["ended"]
        assert isinstance(error, DriverError)
        assert "ended" in str(error)
        frame = driver.latest_frame()
        assert frame is not None
        assert frame.seq == 5


async def test_a_pasted_image_is_on_every_synthetic_frame(tmp_path: Path) -> None:
    picture = tmp_path / "code.png"
    code = qr("PASTED")
    assert cv2.imwrite(str(picture), code)
    url = f"sim://camera?size=320x240&paste={picture}&paste_at=100,60"
    async with opened(url) as driver:
        frame = await driver.next_frame(0, EVENT_TIMEOUT_S)
        assert frame is not None
        h, w = code.shape
        assert (frame.image[60 : 60 + h, 100 : 100 + w, 0] == code).all()
