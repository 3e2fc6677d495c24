"""The capture thread: owns one camera's source from open to release and reads it without pause.

Reading continuously is what keeps frames fresh: a V4L2 driver queues a few buffers, and a
camera read only now and then hands out a picture that is already old. Every frame read goes
to the `LatestFrame` (only the newest is kept) and its facts to the `FeedWatch`; the thread
itself judges nothing. File and synthetic sources are paced at the requested frame rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

from drivers.base import DeviceUnavailable, DriverError
from drivers.camera.frames import Frame, LatestFrame
from drivers.camera.sources import FrameSource, Negotiated, SourceEnded
from drivers.camera.watch import FeedWatch, digest

log = logging.getLogger("midas_edge.camera")

# After a failed read, wait this long before the next one: a camera that fails at once
# (unplugged, a broken stream) must not spin a core.
FAILED_READ_PAUSE_S = 0.02

Opener = Callable[[threading.Event], FrameSource]


class CaptureThread:
    """Opens a source with `opener` in its own thread, then reads it until `stop()`.

    `opened` (an asyncio future of the loop given) resolves with what the source negotiated,
    or with the error that kept it from opening. `on_frame` is called in this thread after
    each frame is published, and must not block.
    """

    def __init__(
        self,
        opener: Opener,
        latest: LatestFrame,
        watch: FeedWatch,
        loop: asyncio.AbstractEventLoop,
        *,
        fps: float,
        name: str,
        on_frame: Callable[[Frame], None] | None = None,
    ) -> None:
        self.opened: asyncio.Future[tuple[Negotiated, dict[str, str]]] = loop.create_future()
        self.source: FrameSource | None = None
        self._opener = opener
        self._latest = latest
        self._watch = watch
        self._loop = loop
        self._period = 1.0 / fps
        self._on_frame = on_frame
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; it releases the source on its way out."""
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the thread to end (blocking); whether it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _resolve(self, value: tuple[Negotiated, dict[str, str]] | BaseException) -> None:
        def settle() -> None:
            if self.opened.done():  # the driver stopped waiting (timeout, close)
                return
            if isinstance(value, BaseException):
                self.opened.set_exception(value)
            else:
                self.opened.set_result(value)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self._loop.call_soon_threadsafe(settle)

    def _run(self) -> None:
        try:
            source = self._opener(self._stop)
        except DriverError as exc:  # not there, will not open, a bad sim:// URL
            self._resolve(exc)
            return
        except Exception as exc:  # OpenCV refusing the URL: translated at the boundary
            error = DeviceUnavailable(f"the camera did not open ({type(exc).__name__})")
            error.__cause__ = exc
            self._resolve(error)
            return
        self.source = source
        try:
            self._resolve((source.negotiated, {"transport": source.transport, **source.hints}))
            self._read(source)
        except SourceEnded:
            self._watch.end("ended", "the video file ended")
        except Exception as exc:  # cv2.error from a broken stream: the feed is dead
            log.warning("camera capture failed", extra={"error": type(exc).__name__})
            self._watch.end("capture_failed", f"the capture failed ({type(exc).__name__})")
        finally:
            source.release()

    def _read(self, source: FrameSource) -> None:
        watch, latest, stop = self._watch, self._latest, self._stop
        paced = source.paced
        due = time.monotonic()
        while not stop.is_set():
            if paced:
                wait = due - time.monotonic()
                if wait > 0 and stop.wait(wait):
                    return
                # The next frame one period on; after a hiccup, no burst to catch up.
                due = max(due + self._period, time.monotonic() - self._period)
            image = source.read()
            at = time.monotonic()
            if stop.is_set():
                return
            if image is None:
                watch.failure(at)
                stop.wait(FAILED_READ_PAUSE_S)
                continue
            watch.frame(at, digest(image))
            frame = latest.publish(image, at)
            if self._on_frame is not None:
                self._on_frame(frame)
