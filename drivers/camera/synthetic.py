"""A deterministic synthetic camera picture: a moving square on a gradient, the frame number
drawn as black and white blocks along the top edge, and optionally an image pasted on top
(a boarding pass's barcode, a face).

The same (size, seed, index) always gives the same pixels, so tests and the demo can tell
which frame they got (`frame_index()`), also after MJPG compression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]

# The frame number: this many bits, one block each, most significant first.
INDEX_BITS = 16
MIN_SIZE = (64, 48)


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    """What a `sim://camera?...` URL asks of the generator and of its simulated failures."""

    size: tuple[int, int] | None = None  # None: the size the driver requests
    seed: int = 0
    paste: str = ""  # an image file drawn on every frame
    paste_at: tuple[int, int] | None = None  # its top-left corner; None: centred
    freeze_at: int = -1  # from this frame on, the picture no longer changes
    fail_at: int = -1  # from this frame on, every read fails
    stall_at: int = -1  # from this frame on, a read never returns

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SyntheticSpec:
        """The spec a sim:// URL's query gives; ValueError naming the bad parameter."""
        size = _pair(params, "size", "x") if "size" in params else None
        if size is not None and (size[0] < MIN_SIZE[0] or size[1] < MIN_SIZE[1]):
            raise ValueError(f"size: expected at least {MIN_SIZE[0]}x{MIN_SIZE[1]}")
        return cls(
            size=size,
            seed=_int(params, "seed", 0),
            paste=params.get("paste", ""),
            paste_at=_pair(params, "paste_at", ",") if "paste_at" in params else None,
            freeze_at=_int(params, "freeze_at", -1),
            fail_at=_int(params, "fail_at", -1),
            stall_at=_int(params, "stall_at", -1),
        )


class SyntheticPattern:
    """Frames of one synthetic picture; `frame(i)` is a new array each call."""

    def __init__(
        self,
        width: int,
        height: int,
        seed: int = 0,
        overlay: Image | None = None,
        at: tuple[int, int] | None = None,
    ) -> None:
        if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
            raise ValueError(f"a synthetic frame is at least {MIN_SIZE[0]}x{MIN_SIZE[1]}")
        self.width, self.height = width, height
        self.block = max(2, width // (INDEX_BITS * 2))
        self.side = max(8, min(width, height) // 5)
        rng = np.random.default_rng(seed)
        tint = rng.integers(0, 160, size=3, dtype=np.uint8)
        xs = np.linspace(0, 95, width).astype(np.uint8)[None, :]
        ys = np.linspace(0, 95, height).astype(np.uint8)[:, None]
        base = np.empty((height, width, 3), np.uint8)  # channel values stay below 176
        base[:, :, 0] = xs + tint[0] // 2
        base[:, :, 1] = ys + tint[1] // 2
        base[:, :, 2] = xs // 2 + ys // 2 + tint[2] // 2
        self._base = base
        self._square = rng.integers(180, 256, size=3, dtype=np.uint8)
        self._overlay: tuple[Image, int, int] | None = None
        if overlay is not None:
            self._overlay = (overlay, *self._place(overlay, at))

    def _place(self, overlay: Image, at: tuple[int, int] | None) -> tuple[int, int]:
        h, w = overlay.shape[:2]
        x, y = at if at is not None else ((self.width - w) // 2, (self.height - h) // 2)
        top = 2 * self.block  # below the frame number
        if x < 0 or y < top or x + w > self.width or y + h > self.height:
            raise ValueError(
                f"a {w}x{h} image does not fit a {self.width}x{self.height} frame at {x},{y}"
            )
        return x, y

    def frame(self, index: int) -> Image:
        """Frame number `index` (0-based)."""
        image = self._base.copy()
        span_x, span_y = self.width - self.side, self.height - self.side - 2 * self.block
        x = _bounce(index * 7, span_x)
        y = 2 * self.block + _bounce(index * 5, span_y)
        image[y : y + self.side, x : x + self.side] = self._square
        self._draw_index(image, index)
        if self._overlay is not None:
            overlay, ox, oy = self._overlay
            h, w = overlay.shape[:2]
            image[oy : oy + h, ox : ox + w] = overlay.reshape(h, w, -1)[:, :, :3]
        return image

    def _draw_index(self, image: Image, index: int) -> None:
        b = self.block
        image[: 2 * b, : INDEX_BITS * b] = 0
        for bit in range(INDEX_BITS):
            if index >> (INDEX_BITS - 1 - bit) & 1:
                image[: 2 * b, bit * b : (bit + 1) * b] = 255


def frame_index(image: Image) -> int:
    """The frame number a synthetic frame carries (read back from its top edge)."""
    width = image.shape[1]
    b = max(2, width // (INDEX_BITS * 2))
    grey = image[:, :, 1] if image.ndim == 3 else image
    value = 0
    for bit in range(INDEX_BITS):
        value = value << 1 | int(grey[b, bit * b + b // 2] > 127)
    return value


def _bounce(step: int, span: int) -> int:
    """A position moving back and forth over 0..span."""
    if span <= 0:
        return 0
    phase = step % (2 * span)
    return phase if phase < span else 2 * span - phase


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    if name not in params:
        return default
    try:
        return int(params[name])
    except ValueError:
        raise ValueError(f"{name}: expected a whole number") from None


def _pair(params: Mapping[str, str], name: str, sep: str) -> tuple[int, int]:
    first, _, second = params[name].partition(sep)
    try:
        return int(first), int(second)
    except ValueError:
        raise ValueError(f"{name}: expected two whole numbers separated by {sep!r}") from None
