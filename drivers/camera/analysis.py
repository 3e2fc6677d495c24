"""Frame analysis off the event loop: one worker thread, a bounded queue that drops old frames.

A consumer (barcode scanning, portrait checks) hands frames to `submit()` from any thread; it
never blocks: when the worker is busy and the queue is full, the oldest waiting frame is
dropped (counted), so the worker always gets the newest picture and nothing grows. Results
come back on the event loop through `results()`; while the consumer is slow to take them, the
worker waits (and frames keep being dropped at the queue, not at the capture).

AnalysisError (a DriverError)   the worker's setup failed; `results()` raises it
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from drivers.base import DriverError
from drivers.camera.frames import Frame

log = logging.getLogger("midas_edge.camera")

R = TypeVar("R")

# Results waiting for the consumer before the worker waits for it.
RESULT_QUEUE = 8
# How often a worker waiting for the consumer checks that it was not stopped.
STOP_POLL_S = 0.05
# stop(): how long the worker's current frame may take to finish.
STOP_TIMEOUT_S = 5.0


class AnalysisError(DriverError):
    """The analysis worker could not start (its setup raised)."""


class _Stopped:
    """`results()` ends: the worker was stopped."""


class _Wake:
    """Wakes a `results()` waiting on an empty queue, to look at how the worker ended."""


class FrameWorker(Generic[R]):
    """Runs an analysis on frames in one worker thread.

    `setup` is called in the worker thread and returns the function applied to each frame, so
    whatever it builds (a decoder, a classifier) stays confined to that thread. A frame whose
    analysis raises is counted in `failed` and logged; the worker goes on.
    """

    def __init__(
        self,
        setup: Callable[[], Callable[[Frame], R]],
        *,
        depth: int = 1,
        name: str = "analysis",
    ) -> None:
        if depth < 1:
            raise ValueError("depth: expected at least one waiting frame")
        self.depth = depth
        self.name = name
        self.submitted = 0
        self.dropped = 0  # frames replaced by a newer one before the worker took them
        self.done = 0
        self.failed = 0
        self._setup = setup
        self._frames: collections.deque[Frame] = collections.deque()
        self._cond = threading.Condition()
        self._stopped = False
        self._results: asyncio.Queue[R | _Wake] = asyncio.Queue(RESULT_QUEUE)
        self._end: _Stopped | AnalysisError | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._delivery: concurrent.futures.Future[None] | None = None

    @property
    def pending(self) -> int:
        """Frames waiting for the worker (never more than `depth`)."""
        with self._cond:
            return len(self._frames)

    def submit(self, frame: Frame) -> None:
        """Queue `frame` for analysis; never blocks. The oldest waiting frame makes room."""
        with self._cond:
            if self._stopped:
                return
            self.submitted += 1
            if len(self._frames) >= self.depth:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(frame)
            self._cond.notify()

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Stop the worker (its current frame finishes first); `results()` then ends."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            self._frames.clear()
            self._cond.notify()
            delivery = self._delivery
        if delivery is not None:
            delivery.cancel()
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, STOP_TIMEOUT_S)
            if thread.is_alive():
                log.warning("analysis worker still busy after stop", extra={"worker": self.name})
        self._put_end(_Stopped())

    async def __aenter__(self) -> FrameWorker[R]:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def results(self) -> AsyncIterator[R]:
        """The analysis results in frame order, until `stop()`; AnalysisError if setup failed."""
        while True:
            if self._end is not None and self._results.empty():
                if isinstance(self._end, AnalysisError):
                    raise self._end
                return
            item = await self._results.get()
            if not isinstance(item, _Wake):
                yield item

    def _put_end(self, end: _Stopped | AnalysisError) -> None:
        """Record how the worker ended (event loop); results still queued are delivered first."""
        if self._end is None:
            self._end = end
        # A full queue means results() is not waiting: it sees the end once it took them.
        with contextlib.suppress(asyncio.QueueFull):
            self._results.put_nowait(_Wake())

    # -- the worker thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            analyse = self._setup()
        except Exception as exc:
            log.warning("analysis worker setup failed", extra={"worker": self.name})
            error = AnalysisError(f"{self.name}: {exc}")
            error.__cause__ = exc
            if self._loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closed
                    self._loop.call_soon_threadsafe(self._put_end, error)
            return
        while (frame := self._next()) is not None:
            try:
                result = analyse(frame)
            except Exception as exc:
                self.failed += 1
                log.warning(
                    "frame analysis failed",
                    extra={"worker": self.name, "seq": frame.seq, "error": type(exc).__name__},
                )
                continue
            self.done += 1
            if not self._deliver(result):
                return

    def _schedule(self, result: R) -> concurrent.futures.Future[None] | None:
        """Start putting `result` on the loop's queue; None once stopped."""
        loop = self._loop
        with self._cond:
            if self._stopped or loop is None:
                return None
            try:
                delivery = asyncio.run_coroutine_threadsafe(self._results.put(result), loop)
            except RuntimeError:  # the loop is closed
                return None
            self._delivery = delivery  # stop() cancels it
            return delivery

    def _next(self) -> Frame | None:
        with self._cond:
            while not self._frames and not self._stopped:
                self._cond.wait()
            return None if self._stopped else self._frames.popleft()

    def _deliver(self, result: R) -> bool:
        """Hand `result` to the loop, waiting while the consumer is behind; False once stopped."""
        delivery = self._schedule(result)
        if delivery is None:
            return False
        while True:
            try:
                delivery.result(STOP_POLL_S)
            except concurrent.futures.TimeoutError:
                if self._stopped:
                    delivery.cancel()
                    return False
                continue
            except concurrent.futures.CancelledError:
                return False
            return True
