"""Helpers for the camera driver tests: open a driver, read its events, draw a QR code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import zxingcpp
from numpy.typing import NDArray

from drivers.base import Capture, Event, Notice
from drivers.camera.driver import CameraDriver

# Liveness bound for a frame or an event the test waits for (a loaded CI machine).
EVENT_TIMEOUT_S = 10.0
# Small frames keep every test fast.
SMALL = {"width": 320, "height": 240}


@asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[CameraDriver]:
    """A camera driver on `url`, open for the block, closed after it."""
    driver = CameraDriver(url, {**SMALL, **options})
    await driver.open()
    try:
        yield driver
    finally:
        await driver.close()


async def events_until_end(driver: CameraDriver) -> tuple[list[Event], Exception]:
    """Every event up to the end of `events()`, and the error it ended with."""
    seen: list[Event] = []
    try:
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            async for event in driver.events():
                seen.append(event)
    except TimeoutError:
        raise
    except Exception as exc:
        return seen, exc
    raise AssertionError("events() ended without an error")


async def next_capture(driver: CameraDriver) -> Capture:
    """The next capture from `events()` (notices before it are not expected)."""
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        async for event in driver.events():
            assert not isinstance(event, Notice), f"unexpected notice {event.code}"
            return event
    raise AssertionError("events() ended")


def codes(events: list[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, Notice)]


def qr(text: str, scale: int = 3) -> NDArray[np.uint8]:
    """A QR code image with a white quiet zone, grey."""
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    image = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale), np.uint8)
    return np.pad(image, 4 * scale, constant_values=255)


def camera_threads() -> list[str]:
    """Names of the capture threads still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("camera:")]
