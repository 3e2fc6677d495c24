"""Portrait captures: a few seconds of live frames analysed, feedback published, the best kept.

One capture runs at a time. It takes the camera's newest frames at `analysis_fps`, analyses them
in a worker thread whose bounded queue drops old frames (capture is never held back), publishes
`portrait_feedback` events while the traveller is still at the counter, and ends after
`duration` seconds, or early once a frame scores `good_score`. The best acceptable frame is
cropped, encoded and handed to the pipeline as a portrait capture linked to the document record;
a `portrait` event says how the capture ended. A new capture request ends the running one first:
its best frame is still stored when it is good enough, so nothing the officer saw is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import msgspec

from drivers.base import Capture, CaptureKind
from drivers.camera.analysis import FrameWorker
from drivers.camera.frames import Frame
from edge.events import Event, Hub
from edge.portrait.analyse import analyse_frame
from edge.portrait.config import PortraitConfig
from edge.portrait.crop import CropInfo, portrait_jpeg
from edge.portrait.detect import FaceDetector
from edge.portrait.errors import PortraitError
from edge.portrait.results import FrameAnalysis
from edge.portrait.select import acceptable, rank
from edge.records import DeviceRef, Record

log = logging.getLogger("midas_edge.portrait")

# Feedback events at most this often unless the hints change.
FEEDBACK_EVERY_S = 0.25
# A camera that gives no frame for this long is reported while the capture waits for it.
SILENT_AFTER_S = 1.0
# At the end of a capture, how long the frame still in analysis is waited for.
LAST_FRAME_WAIT_S = 0.5
# Meta keys of a portrait capture.
META_ANALYSIS = "analysis"
META_DOCUMENT = "document_record"
META_SESSION = "session"

_json = msgspec.json.Encoder()


@runtime_checkable
class FrameFeed(Protocol):
    """What a camera driver offers a portrait capture: a frame newer than the one it has."""

    async def next_frame(self, after_seq: int, timeout: float) -> Frame | None: ...  # noqa: ASYNC109


Submit = Callable[[DeviceRef, Capture], Awaitable["asyncio.Future[Record]"]]
CameraLookup = Callable[[], tuple[DeviceRef, FrameFeed] | None]


class PortraitSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a stored portrait record says of its capture (no image data)."""

    analysis: FrameAnalysis
    crop: CropInfo
    frames_analysed: int
    frames_dropped: int
    duration_s: float


@dataclass(slots=True)
class _Analysed:
    frame: Frame
    analysis: FrameAnalysis
    device: DeviceRef | None = None  # the camera that took the frame


@dataclass(slots=True)
class Capturing:
    """One portrait capture and how far it got (the API's view of it)."""

    id: str
    document_record: str | None
    reason: str
    started: float = field(default_factory=time.monotonic)
    # capturing, stored, no_usable_frame, superseded, camera_unavailable, failed
    state: str = "capturing"
    analysed: int = 0
    dropped: int = 0
    best: _Analysed | None = None
    record: str | None = None
    detail: str = ""
    hints: tuple[str, ...] = ()
    published_at: float = 0.0
    superseded: bool = False  # ended early because the next capture was asked for
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def view(self) -> dict[str, object]:
        best = self.best.analysis.score if self.best is not None else None
        return {
            "session": self.id,
            "document_record": self.document_record,
            "reason": self.reason,
            "state": self.state,
            "elapsed_s": round(time.monotonic() - self.started, 2),
            "frames_analysed": self.analysed,
            "frames_dropped": self.dropped,
            "best_score": None if best is None else round(best, 3),
            "hints": list(self.hints),
            "record": self.record,
            "detail": self.detail,
        }


class _Detectors:
    """Loaded face detectors, reused across captures (one per worker thread at a time)."""

    def __init__(self) -> None:
        self._free: list[FaceDetector] = []
        self._lock = threading.Lock()

    def take(self) -> FaceDetector:
        with self._lock:
            if self._free:
                return self._free.pop()
        return FaceDetector.load()

    def give(self, detector: FaceDetector) -> None:
        with self._lock:
            self._free.append(detector)


class Portraits:
    """Starts, runs and reports portrait captures for the daemon."""

    def __init__(
        self, config: PortraitConfig, hub: Hub, camera: CameraLookup, submit: Submit
    ) -> None:
        self.config = config
        self._hub = hub
        self._camera = camera
        self._submit = submit
        self._detectors = _Detectors()
        self.current: Capturing | None = None
        self._task: asyncio.Task[None] | None = None
        # One capture at a time: a request waits while the previous one is being ended.
        self._starting = asyncio.Lock()

    def available(self) -> bool:
        return self._camera() is not None

    async def start(self, document_record: str | None, reason: str) -> Capturing:
        """Begin a capture (ending the running one first); PortraitError without a camera."""
        async with self._starting:
            if self._camera() is None:
                raise PortraitError("no camera is connected")
            await self.finish()
            session = Capturing(uuid.uuid4().hex[:16], document_record, reason)
            self.current = session
            self._task = asyncio.create_task(self._run(session), name=f"portrait:{session.id}")
        log.info(
            "portrait capture started",
            extra={"session": session.id, "record_id": document_record, "reason": reason},
        )
        return session

    async def finish(self) -> None:
        """End the running capture now, storing its best frame when it is good enough."""
        task = self._task
        if task is not None and not task.done() and self.current is not None:
            self.current.superseded = True
            self.current.stop.set()
            await asyncio.shield(task)

    def unavailable(self, document_record: str) -> None:
        """Say why a document read gets no portrait: the camera is not connected."""
        session = Capturing(uuid.uuid4().hex[:16], document_record, "document")
        session.state, session.detail = "camera_unavailable", "no camera is connected"
        self._hub.publish(Event("portrait", _json.encode(session.view())))

    async def close(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, session: Capturing) -> None:
        try:
            await self._capture(session)
            await self._store(session)
        except asyncio.CancelledError:
            session.state, session.detail = "failed", "the daemon stopped"
            raise
        except PortraitError as exc:
            session.state, session.detail = "failed", str(exc)
        except Exception:
            log.exception("portrait capture failed", extra={"session": session.id})
            session.state, session.detail = "failed", "the portrait could not be processed"
        finally:
            self._hub.publish(Event("portrait", _json.encode(session.view())))
            log.info(
                "portrait capture ended",
                extra={
                    "session": session.id,
                    "state": session.state,
                    "frames": session.analysed,
                    "record_id": session.record,
                },
            )

    async def _capture(self, session: Capturing) -> None:
        config = self.config
        taken: list[FaceDetector] = []

        def setup() -> Callable[[Frame], _Analysed]:
            detector = self._detectors.take()
            taken.append(detector)
            return lambda frame: _Analysed(frame, analyse_frame(frame.image, detector, config))

        devices: dict[int, DeviceRef] = {}  # id(frame) -> camera, for frames handed to the worker

        worker: FrameWorker[_Analysed] = FrameWorker(setup, depth=1, name="portrait")
        try:
            async with worker:
                feeder = asyncio.create_task(self._feed(session, worker, devices))
                try:
                    async for result in worker.results():
                        result.device = devices.pop(id(result.frame), None)
                        self._analysed(session, result)
                        best = session.best
                        # good_score 1 disables the early end: the capture runs its duration.
                        if best is not None and best.analysis.score >= config.good_score < 1:
                            session.stop.set()
                finally:
                    feeder.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await feeder
                    session.dropped = worker.dropped
        finally:
            for detector in taken:
                self._detectors.give(detector)

    async def _feed(
        self, session: Capturing, worker: FrameWorker[_Analysed], devices: dict[int, DeviceRef]
    ) -> None:
        """Hand the newest frame to the worker at `analysis_fps` until the capture ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.duration
        step = 1.0 / self.config.analysis_fps
        seq, next_at, silent_since = 0, loop.time(), loop.time()
        feed: FrameFeed | None = None
        seen_any = False
        try:
            while not session.stop.is_set() and (remaining := deadline - loop.time()) > 0:
                camera = self._camera()
                if camera is None:
                    await asyncio.sleep(min(remaining, 0.1))
                    continue
                if camera[1] is not feed:
                    # A reconnected camera is a new driver, numbering its frames afresh.
                    feed, seq = camera[1], 0
                frame = await feed.next_frame(seq, min(remaining, SILENT_AFTER_S))
                if frame is None:
                    if loop.time() - silent_since >= SILENT_AFTER_S:
                        session.detail = "the camera sends no picture"
                        self._feedback(session, force=True)
                    continue
                seq, silent_since, seen_any = frame.seq, loop.time(), True
                if loop.time() >= next_at:
                    devices[id(frame)] = camera[0]
                    worker.submit(frame)
                    next_at = loop.time() + step
                await _first(session.stop.wait(), max(0.0, next_at - loop.time()))
            # The frame being analysed at the deadline still counts.
            await _first(_settled(worker), LAST_FRAME_WAIT_S)
        finally:
            ended_early = session.superseded
            if session.analysed == 0 and session.best is None and not seen_any and not ended_early:
                session.state = "camera_unavailable"
            await worker.stop()

    def _analysed(self, session: Capturing, result: _Analysed) -> None:
        session.analysed += 1
        session.detail = ""
        best = session.best
        if best is None or _better(result.analysis, best.analysis):
            session.best = result
        codes = tuple(h.code.value for h in result.analysis.hints)
        changed = codes != session.hints
        session.hints = codes
        self._feedback(session, force=changed, analysis=result.analysis)

    def _feedback(
        self, session: Capturing, *, force: bool, analysis: FrameAnalysis | None = None
    ) -> None:
        now = time.monotonic()
        if not force and now - session.published_at < FEEDBACK_EVERY_S:
            return
        session.published_at = now
        body = session.view()
        if analysis is not None:
            body["score"] = round(analysis.score, 3)
            body["faces"] = analysis.measures.faces.value
            body["advice"] = [msgspec.to_builtins(h) for h in analysis.hints]
        self._hub.publish(Event("portrait_feedback", _json.encode(body)))

    async def _store(self, session: Capturing) -> None:
        if session.state == "camera_unavailable":
            session.detail = session.detail or "the camera sent no frame"
            return
        best = session.best
        if best is None or not acceptable(best.analysis, self.config):
            session.state = "superseded" if session.superseded else "no_usable_frame"
            return
        device = best.device
        if device is None:
            raise PortraitError("the portrait frame has no camera")
        data, crop = await asyncio.to_thread(
            portrait_jpeg, best.frame.image, best.analysis, self.config
        )
        summary = PortraitSummary(
            analysis=best.analysis,
            crop=crop,
            frames_analysed=session.analysed,
            frames_dropped=session.dropped,
            duration_s=round(time.monotonic() - session.started, 2),
        )
        meta = {META_ANALYSIS: _json.encode(summary).decode(), META_SESSION: session.id}
        if session.document_record:
            meta[META_DOCUMENT] = session.document_record
        # The frame's wall-clock time, from its monotonic capture time.
        taken_ms = int((time.time() - (time.monotonic() - best.frame.at)) * 1000)
        capture = Capture(
            kind=CaptureKind.PORTRAIT,
            raw=b"",
            captured_at_ms=taken_ms,
            images=(("image/jpeg", data),),
            meta=meta,
        )
        outcome = await self._submit(device, capture)
        record = await outcome
        session.state, session.record = "stored", record.id


def _better(new: FrameAnalysis, old: FrameAnalysis) -> bool:
    """Whether `new` replaces `old` as the best frame (`select.rank`; the later wins ties)."""
    return rank(new) >= rank(old)


async def _settled(worker: FrameWorker[_Analysed]) -> None:
    """Return once every frame handed to `worker` was analysed, dropped or failed."""
    while worker.submitted > worker.done + worker.dropped + worker.failed:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def _first(stop: Awaitable[object], timeout: float) -> None:  # noqa: ASYNC109
    """Wait for `stop` or `timeout` seconds, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await stop
