"""The camera driver: V4L2 cameras, video files, image sequences (OpenCV) or synthetic frames,
with the newest frame always at hand and a watchdog that notices a dead feed.

All OpenCV work runs in the capture thread (`drivers.camera.capture`) and, for barcodes, in
one analysis worker (`drivers.camera.analysis`); the event loop only waits for results. A feed
that fails, stalls or freezes ends `events()` with a DriverError (after a Notice saying which),
so the supervisor reopens the camera; a camera whose path went away ends it with
DeviceUnavailable, so the supervisor waits for it to be plugged in again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from drivers.base import (
    Capture,
    DeviceIdentity,
    DeviceKind,
    DeviceUnavailable,
    Driver,
    DriverError,
    Event,
    HealthState,
    Notice,
)
from drivers.camera.address import parse_address
from drivers.camera.analysis import AnalysisError, FrameWorker
from drivers.camera.capture import CaptureThread
from drivers.camera.frames import Frame, LatestFrame
from drivers.camera.scan import FrameScanner
from drivers.camera.settings import CameraSettings, camera_settings
from drivers.camera.sources import Negotiated, open_source
from drivers.camera.watch import FeedWatch, Limits

log = logging.getLogger("midas_edge.camera")

# Opening the device (a V4L2 camera negotiating its mode) must not take longer than this.
OPEN_TIMEOUT_S = 10.0
# close(): how long the capture thread's last read may take before it is left to finish alone.
CLOSE_TIMEOUT_S = 2.0
# How often the watchdog looks at the feed and at the camera's path.
WATCH_INTERVAL_S = 0.05
# Notices and barcode captures waiting for the consumer.
EVENT_QUEUE = 64


@dataclass(frozen=True, slots=True)
class CameraIdentity(DeviceIdentity):
    """A camera's identity plus the mode it actually delivers."""

    fourcc: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0


class _End:
    """The end of `events()`: the error it raises."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class CameraDriver(Driver):
    """One camera. `latest_frame()` / `next_frame()` give frames; `events()` gives Notices
    about the feed and, with the `barcodes` option, BARCODE captures found in the frames."""

    name: ClassVar[str] = "camera"
    kind: ClassVar[DeviceKind] = DeviceKind.CAMERA

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, options)
        self.settings: CameraSettings = camera_settings(self.options)
        self.negotiated: Negotiated | None = None
        self._hints: dict[str, str] = {}
        self._seq = 0  # frame numbers go on across reopenings of this driver
        self._latest: LatestFrame | None = None
        self._capture: CaptureThread | None = None
        self._scanner: FrameWorker[list[Capture]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[Event | _End] = asyncio.Queue(EVENT_QUEUE)
        self._scan_due = 0.0

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        camera_settings(options)

    # -- frames ----------------------------------------------------------------------------

    def latest_frame(self) -> Frame | None:
        """The newest frame (None before the first one and once closed)."""
        latest = self._latest
        return latest.latest() if latest is not None else None

    async def next_frame(self, after_seq: int, timeout: float) -> Frame | None:  # noqa: ASYNC109  # None on expiry, part of the contract
        """The newest frame once one newer than `after_seq` exists; None after `timeout` s
        or when the camera closes. A slow caller gets the latest frame, never a backlog."""
        latest = self._latest
        if latest is None:
            return None
        return await latest.after(after_seq, timeout)

    # -- identity --------------------------------------------------------------------------

    def presence_path(self) -> str | None:
        try:
            return parse_address(self.url).presence
        except ValueError:
            return None

    def identify(self) -> CameraIdentity:
        h, n = self._hints, self.negotiated
        return CameraIdentity(
            kind=self.kind,
            driver=self.name,
            transport=h.get("transport", ""),
            vendor_id=h.get("vendor_id", ""),
            product_id=h.get("product_id", ""),
            serial=h.get("serial", ""),
            manufacturer=h.get("manufacturer", ""),
            product=h.get("product", ""),
            firmware=h.get("firmware", ""),
            node=h.get("node", self.url),
            stable_path=h.get("stable_path", ""),
            fourcc=n.fourcc if n else "",
            width=n.width if n else 0,
            height=n.height if n else 0,
            fps=n.fps if n else 0.0,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        await super().open()
        if self.negotiated is not None:  # READY, and what it delivers
            self._set_state(self._health.state, self.negotiated.describe())

    async def _open(self) -> None:
        try:
            address = parse_address(self.url)
        except ValueError as exc:
            raise DriverError(f"camera url: {exc}") from None
        loop = asyncio.get_running_loop()
        s = self.settings
        latest = LatestFrame(loop, self._seq)
        watch = FeedWatch(
            Limits(s.request.read_timeout, s.stall_after, s.frozen_after), time.monotonic()
        )
        self._latest = latest
        self._queue = asyncio.Queue(EVENT_QUEUE)
        on_frame: Callable[[Frame], None] | None = None
        if s.barcodes:
            scanner = FrameWorker(self._scanner_setup, name=f"scan:{self.url}")
            self._scanner = scanner
            await scanner.start()
            on_frame = functools.partial(self._feed_scanner, scanner, 1.0 / s.scan_fps)
        capture = CaptureThread(
            functools.partial(open_source, address, s.request),
            latest,
            watch,
            loop,
            fps=s.request.fps,
            name=f"camera:{self.url}",
            on_frame=on_frame,
        )
        self._capture = capture
        capture.start()
        try:
            async with asyncio.timeout(OPEN_TIMEOUT_S):
                negotiated, self._hints = await capture.opened
            first = await latest.after(self._seq, s.request.read_timeout)
            if first is None:
                raise DriverError(f"no frame within {s.request.read_timeout:g} s of opening")
        except TimeoutError:
            await self._close()
            raise DeviceUnavailable(
                f"the camera did not open within {OPEN_TIMEOUT_S:g} s"
            ) from None
        except BaseException:
            await self._close()
            raise
        if (first.width, first.height) != (negotiated.width, negotiated.height):
            # The frames are the truth (a backend may read back 0 or the size it was asked).
            negotiated = dataclasses.replace(negotiated, width=first.width, height=first.height)
        self.negotiated = negotiated
        r = s.request
        log.info(
            "camera opened",
            extra={
                "url": self.url,
                "transport": self._hints.get("transport", ""),
                "requested": f"{r.fourcc} {r.width}x{r.height} at {r.fps:g} fps",
                "negotiated": negotiated.describe(),
            },
        )
        self._tasks.append(asyncio.create_task(self._watch(watch), name=f"watch:{self.url}"))
        if self._scanner is not None:
            scans = asyncio.create_task(
                self._deliver_scans(self._scanner), name=f"scans:{self.url}"
            )
            self._tasks.append(scans)

    async def _close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.stop()
            if not await asyncio.to_thread(capture.join, CLOSE_TIMEOUT_S):
                log.warning(
                    "camera read still blocked at close; the camera is released when it returns",
                    extra={"url": self.url},
                )
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            await scanner.stop()
        latest, self._latest = self._latest, None
        if latest is not None:
            self._seq = latest.seq
            latest.close()
        # A consumer still in events() ends instead of waiting for ever (a full queue wakes it).
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_End(DeviceUnavailable("the camera was closed")))

    async def events(self) -> AsyncIterator[Event]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                self._queue.put_nowait(item)  # a later events() ends the same way, never hangs
                raise item.exc
            yield item

    # -- the watchdog ----------------------------------------------------------------------

    async def _watch(self, watch: FeedWatch) -> None:
        presence = self.presence_path()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            frame = self.latest_frame()
            if frame is not None:
                self._health.reads = frame.seq
                self._health.last_event_at = frame.at
            if presence is not None and not os.path.exists(presence):  # noqa: ASYNC240  # one stat
                await self._end("unplugged", "the camera's device path is gone", unplugged=True)
                return
            finding = watch.check(time.monotonic())
            if finding is None:
                continue
            if finding.fatal:
                await self._end(finding.code, finding.message)
                return
            # A run of failed reads that ended by itself: reported, and the state stays READY
            # (frames are not events, so a DEGRADED state could not be seen to recover).
            self.note_error()
            await self._queue.put(Notice(finding.code, finding.message))

    async def _end(self, code: str, message: str, *, unplugged: bool = False) -> None:
        """Report why the feed is dead, then end `events()` with the matching error."""
        self.note_error()
        self._set_state(HealthState.DEGRADED, message)
        await self._queue.put(Notice(code, message))
        error = DeviceUnavailable if unplugged else DriverError
        await self._queue.put(_End(error(f"camera {code}: {message}")))

    # -- barcodes --------------------------------------------------------------------------

    def _scanner_setup(self) -> Callable[[Frame], list[Capture]]:
        """Build the barcode scanner in the analysis worker's thread, which it is confined to."""
        s = self.settings
        scanner = FrameScanner(s.barcodes, s.barcode_backend, s.barcode_hold, rules=s.read_rules)
        return lambda frame: scanner.scan(frame.image)

    def _feed_scanner(
        self, worker: FrameWorker[list[Capture]], period: float, frame: Frame
    ) -> None:
        """Hand frames to the scanner at `scan_fps` (capture thread; never blocks)."""
        if frame.at < self._scan_due:
            return
        self._scan_due = max(self._scan_due + period, frame.at - period)
        worker.submit(frame)

    async def _deliver_scans(self, worker: FrameWorker[list[Capture]]) -> None:
        try:
            async for captures in worker.results():
                for capture in captures:
                    await self._queue.put(capture)
        except AnalysisError as exc:
            # No decoder (zbar without libzbar0): the camera goes on without scanning.
            self.note_error()
            await self._queue.put(Notice("scan_unavailable", str(exc)))
