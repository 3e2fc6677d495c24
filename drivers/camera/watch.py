"""Is the feed alive? Judged from what the capture thread saw: failing reads, a read that does
not return, the same picture over and over, the end of a file.

The capture thread records facts (`frame()`, `failure()`, `end()`); the driver's watchdog on
the event loop asks `check()` a few times a second. A camera can die without a failed read:
after an unplug `read()` may keep returning the last frame, or block, depending on the
driver and the OpenCV version. So a stalled or frozen feed counts as dead too.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# The frame digest samples about this many pixels along the shorter side.
DIGEST_SIDE = 32
# Failed reads in a row that are reported (once per run) even before the feed counts as dead.
REPORT_AFTER = 3


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong with the feed; `fatal` ones end the driver (the supervisor reopens it)."""

    code: str  # "read_failed", "stalled", "frozen", "ended", "capture_failed"
    message: str
    fatal: bool


@dataclass(frozen=True, slots=True)
class Limits:
    """When a feed counts as dead."""

    read_timeout: float  # reads failing for this long
    stall_after: float  # no read returning for this long
    frozen_after: float  # the same picture for this long; 0: never


def digest(image: NDArray[np.uint8]) -> int:
    """A cheap fingerprint of a frame: CRC-32 of a coarse grid of its pixels."""
    step = max(1, min(image.shape[0], image.shape[1]) // DIGEST_SIDE)
    return zlib.crc32(np.ascontiguousarray(image[::step, ::step]).data)


class FeedWatch:
    """The facts about one open feed; thread-safe."""

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._last_return = now  # the last read that returned, good or not
        self._last_frame = now
        self._failing_since: float | None = None
        self._failures = 0
        self._reported = False
        self._digest: int | None = None
        self._same_since = now
        self._ended: Finding | None = None

    def frame(self, at: float, fingerprint: int) -> None:
        """A good frame was read at `at` (capture thread)."""
        with self._lock:
            self._last_return = self._last_frame = at
            self._failing_since = None
            self._failures = 0
            self._reported = False
            if fingerprint != self._digest:
                self._digest = fingerprint
                self._same_since = at

    def failure(self, at: float) -> None:
        """A read failed at `at` (capture thread)."""
        with self._lock:
            self._last_return = at
            self._failures += 1
            if self._failing_since is None:
                self._failing_since = at

    def end(self, code: str, message: str) -> None:
        """The capture stopped by itself: end of file, an error in OpenCV (capture thread)."""
        with self._lock:
            if self._ended is None:
                self._ended = Finding(code, message, fatal=True)

    def check(self, now: float) -> Finding | None:
        """What is wrong at `now`, the worst first; a run of failed reads is reported once."""
        limits = self.limits
        with self._lock:
            if self._ended is not None:
                return self._ended
            failing_since = self._failing_since
            if failing_since is not None and now - failing_since >= limits.read_timeout:
                return Finding(
                    "read_failed",
                    f"every read failed for {now - failing_since:.1f} s ({self._failures} reads)",
                    fatal=True,
                )
            if now - self._last_return >= limits.stall_after:
                return Finding(
                    "stalled", f"no read returned for {now - self._last_return:.1f} s", fatal=True
                )
            still = self._last_frame - self._same_since
            if limits.frozen_after > 0 and still >= limits.frozen_after:
                return Finding("frozen", f"the same picture for {still:.1f} s", fatal=True)
            if self._failures >= REPORT_AFTER and not self._reported:
                self._reported = True
                return Finding(
                    "read_failed", f"{self._failures} reads failed in a row", fatal=False
                )
            return None
