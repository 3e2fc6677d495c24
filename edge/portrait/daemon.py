"""Portrait captures in the daemon: which camera, and a capture for every stored document read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import cv2

from edge.config import Config
from edge.devices import DeviceSupervisor
from edge.events import Hub
from edge.portrait.errors import PortraitError
from edge.portrait.session import CameraLookup, FrameFeed, Portraits, Submit
from edge.records import DeviceRef, Kind, Record

log = logging.getLogger("midas_edge.portrait")

CAMERA_DRIVER = "camera"


def portrait_camera(config: Config) -> str | None:
    """The device name of the portrait camera: `[portrait] camera`, else the first camera."""
    if config.portrait.camera:
        return config.portrait.camera
    for device in config.devices:
        if device.enabled and device.driver == CAMERA_DRIVER:
            return device.name
    return None


def camera_lookup(supervisor: DeviceSupervisor) -> CameraLookup:
    """The camera's driver while it is connected and gives frames; None otherwise."""

    def lookup() -> tuple[DeviceRef, FrameFeed] | None:
        driver: object = supervisor.driver
        if not isinstance(driver, FrameFeed):
            return None
        name = supervisor.config.name
        return DeviceRef(name, supervisor.config.driver, supervisor.identity), driver

    return lookup


def build_portraits(
    config: Config, supervisors: Sequence[DeviceSupervisor], hub: Hub, submit: Submit
) -> Portraits | None:
    """The daemon's portrait captures, or None when no enabled camera is configured."""
    name = portrait_camera(config)
    supervisor = next((s for s in supervisors if s.config.name == name), None)
    if supervisor is None:
        return None
    # One OpenCV thread per call (process-wide): a frame's face search then leaves the other
    # core to the event loop and the camera's decoding, and on a busy 2-core workstation it is
    # no slower, since the second thread would mostly wait for a core (benchmarks/portrait).
    cv2.setNumThreads(1)
    return Portraits(config.portrait, hub, camera_lookup(supervisor), submit)


class DocumentTrigger:
    """Starts a portrait capture when a travel-document record is stored (a store listener)."""

    def __init__(self, portraits: Portraits) -> None:
        self._portraits = portraits
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, committed: Sequence[Record], bodies: object, seconds: float) -> None:
        del bodies, seconds
        documents = [r for r in committed if r.kind is Kind.DOCUMENT]
        if not documents:
            return
        if not self._portraits.available():
            self._portraits.unavailable(documents[-1].id)
            return
        # Several reads in one commit: the traveller at the counter is the last one.
        task = asyncio.create_task(self._start(documents[-1].id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, record_id: str) -> None:
        try:
            await self._portraits.start(record_id, "document")
        except PortraitError as exc:
            log.info("no portrait capture", extra={"record_id": record_id, "reason": str(exc)})

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
