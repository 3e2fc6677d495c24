"""Camera frames → new BARCODE captures: decode, validate, and hold back codes already delivered.

Thread confinement: a `FrameScanner` belongs to the one worker thread that calls `scan()`
(decoding blocks for milliseconds, never on the event loop). Its decoder, hold list and
counters are touched by that thread only, so there are no locks; other threads take
`counters.snapshot()` for metrics, where a figure one frame old is fine.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from numpy.typing import NDArray

from drivers.base import Capture, CaptureKind, now_ms
from drivers.camera.code_checks import ReadRules, check_read
from drivers.camera.codes import CodeRead, Decoder, grey_frame, make_decoder

__all__ = ["MAX_HELD", "FrameScanner", "RecentCodes", "ScanCounters"]

log = logging.getLogger("midas_edge.camera")

# Codes remembered at most for the hold; a frame full of distinct codes cannot grow it further.
MAX_HELD = 256
SOURCE = "camera"

Key = tuple[str, bytes]


class RecentCodes:
    """(symbology, payload) keys seen within the last `hold` seconds, by when last seen."""

    def __init__(self, hold: float, limit: int = MAX_HELD) -> None:
        self.hold = hold
        self.limit = limit
        self._last_seen: dict[Key, float] = {}  # oldest sighting first

    def __len__(self) -> int:
        return len(self._last_seen)

    def seen(self, key: Key, now: float) -> bool:
        """Whether `key` was seen within the hold before `now`; `now` becomes its last sighting."""
        self.expire(now)
        held = key in self._last_seen
        if held:
            del self._last_seen[key]  # re-inserted below: the dict stays ordered by sighting
        elif len(self._last_seen) >= self.limit:
            del self._last_seen[next(iter(self._last_seen))]
        self._last_seen[key] = now
        return held

    def expire(self, now: float) -> None:
        """Forget the keys last seen more than the hold before `now`."""
        while self._last_seen:
            key, last = next(iter(self._last_seen.items()))
            if now - last <= self.hold:
                return
            del self._last_seen[key]


@dataclass(slots=True)
class ScanCounters:
    """What the scanner did since it was built (for metrics and tests)."""

    frames: int = 0
    decoded: int = 0  # reads the decoder returned, before validation and de-duplication
    delivered: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason code → reads dropped

    def snapshot(self) -> dict[str, int]:
        """Every figure in one flat dict ("rejected_<reason>" per reason), safe to take from
        another thread while the scanning thread counts on."""
        figures = {
            "frames": self.frames,
            "decoded": self.decoded,
            "delivered": self.delivered,
            "duplicates": self.duplicates,
        }
        figures.update({f"rejected_{k}": n for k, n in self.rejected.copy().items()})
        return figures


class FrameScanner:
    """Finds barcodes of `formats` in frames and turns each new one into a BARCODE capture.

    A (symbology, payload) seen again within `hold` seconds of its last sighting is a
    duplicate and not delivered; once it has been out of view for longer than `hold`, it is
    delivered again. `clock` gives monotonic seconds. `backend` is "zxing" (every
    symbology) or "zbar" (1D and QR); see `drivers.camera.codes`. `rules` sets the
    validation of 1D reads (`drivers.camera.code_checks`).
    """

    def __init__(
        self,
        formats: Sequence[str],
        backend: str = "zxing",
        hold: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        rules: ReadRules | None = None,
    ) -> None:
        if isinstance(hold, bool) or not isinstance(hold, int | float) or not math.isfinite(hold):
            raise ValueError(f"hold: expected a number of seconds, got {hold!r}")
        if hold < 0:
            raise ValueError(f"hold: expected seconds >= 0, got {hold!r}")
        self.decoder: Decoder = make_decoder(backend, formats)
        self.rules = rules or ReadRules()
        self.counters = ScanCounters()
        self._clock = clock
        self._recent = RecentCodes(hold)
        self._recent_rejects = RecentCodes(hold)  # log a misread once, not once per frame
        self._meta = {"source": SOURCE, "backend": self.decoder.backend}

    @property
    def backend(self) -> str:
        return self.decoder.backend

    @property
    def formats(self) -> tuple[str, ...]:
        return self.decoder.formats

    def scan(self, image: NDArray[Any]) -> list[Capture]:
        """The captures of the codes in `image` (grey, BGR or BGRA, uint8) not held back.

        Raises `BadFrame` for a frame the decoder cannot take.
        """
        grey = grey_frame(image)
        now = self._clock()
        reads = self.decoder.decode(grey)
        self.counters.frames += 1
        self.counters.decoded += len(reads)
        captures = []
        for read in reads:
            key = (read.symbology, read.payload)
            reason = check_read(read, self.rules)
            if reason is not None:
                self._reject(read, reason, now)
            elif self._recent.seen(key, now):
                self.counters.duplicates += 1
            else:
                self.counters.delivered += 1
                captures.append(self._capture(read))
        self._recent.expire(now)
        return captures

    def _reject(self, read: CodeRead, reason: str, now: float) -> None:
        rejected = self.counters.rejected
        rejected[reason] = rejected.get(reason, 0) + 1
        if not self._recent_rejects.seen((f"{reason}:{read.symbology}", read.payload), now):
            log.warning(
                "barcode read rejected",
                extra={
                    "reason": reason,
                    "symbology": read.symbology,
                    "bytes": len(read.payload),
                    "backend": self.decoder.backend,
                },
            )

    def _capture(self, read: CodeRead) -> Capture:
        return Capture(
            kind=CaptureKind.BARCODE,
            raw=read.payload,
            payload=read.payload,
            text=read.text if read.text.isprintable() else None,
            symbology=read.symbology,
            captured_at_ms=now_ms(),
            meta=dict(self._meta),
        )
