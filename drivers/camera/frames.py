"""Camera frames: the newest one, handed by reference, and a way to await a newer one.

A camera's capture thread publishes every frame it decodes into a `LatestFrame`, which keeps
the newest only: a consumer that falls behind gets the latest frame, never a backlog. Frames
are read-only numpy arrays shared with every consumer; nothing copies them.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame (BGR, read-only), its sequence number and its monotonic time."""

    image: NDArray[np.uint8]
    seq: int
    at: float
    width: int
    height: int


class LatestFrame:
    """The newest frame of one camera: written by its capture thread, awaited on the loop.

    `publish()` is the only method called from another thread; everything else runs on the
    event loop given to the constructor.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, start_seq: int = 0) -> None:
        self._loop = loop
        self._seq = start_seq
        self._frame: Frame | None = None
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def seq(self) -> int:
        """The sequence number of the newest frame (the start value before the first)."""
        return self._seq

    def publish(self, image: NDArray[Any], at: float) -> Frame:
        """Make `image` the newest frame (capture thread); it becomes read-only."""
        image.flags.writeable = False
        self._seq += 1
        height, width = image.shape[:2]
        frame = Frame(image, self._seq, at, int(width), int(height))
        self._frame = frame  # one reference swap: readers see the old frame or the new one
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self._loop.call_soon_threadsafe(self._wake)
        return frame

    def latest(self) -> Frame | None:
        """The newest frame, or None before the first (or after close)."""
        return None if self._closed else self._frame

    async def after(self, after_seq: int, timeout: float) -> Frame | None:  # noqa: ASYNC109  # a deadline, not a cancel scope: None on expiry
        """The newest frame once its seq is above `after_seq`; None on timeout or close."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._closed:
            frame = self._frame
            if frame is not None and frame.seq > after_seq:
                return frame
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            changed = self._changed
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                continue  # checked once more above, then None
        return None

    def close(self) -> None:
        """No more frames: waiters get None, `latest()` returns None (event loop only)."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
