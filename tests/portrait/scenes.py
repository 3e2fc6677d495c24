"""Synthetic camera frames built from the public-domain sample portrait (edge/sample).

The head-and-shoulders part of the photograph is scaled so that its face box has a chosen height
and pasted on a noisy background at a chosen place; degradations are applied to whole frames.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from edge import sample

Image = NDArray[np.uint8]

FACE = sample.FACE
head = sample.head


def background(width: int = 1280, height: int = 720, seed: int = 7) -> Image:
    """A blotchy, noisy background: coloured blobs plus per-pixel sensor-like noise."""
    rng = np.random.default_rng(seed)
    blobs = rng.integers(60, 200, (max(2, height // 16), max(2, width // 16), 3), dtype=np.uint8)
    base = cv2.resize(blobs, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    noisy = base + rng.normal(0.0, 6.0, (height, width, 3)).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def paste(frame: Image, face_ratio: float, cx: float = 0.5, cy: float = 0.5) -> Image:
    """A copy of `frame` with the head pasted so its face box is `face_ratio` of the frame height
    high and centred at (cx, cy) (fractions of width and height); clipped at the borders."""
    out = frame.copy()
    height, width = out.shape[:2]
    fx, fy, side = FACE
    scale = face_ratio * height / side
    part = cv2.resize(head(), None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    x0 = round(cx * width - (fx + side / 2) * scale)
    y0 = round(cy * height - (fy + side / 2) * scale)
    xa, ya = max(0, x0), max(0, y0)
    xb, yb = min(width, x0 + part.shape[1]), min(height, y0 + part.shape[0])
    if xa < xb and ya < yb:
        out[ya:yb, xa:xb] = part[ya - y0 : yb - y0, xa - x0 : xb - x0]
    return out


def scene(
    face_ratio: float = 0.35,
    cx: float = 0.5,
    cy: float = 0.5,
    width: int = 1280,
    height: int = 720,
    seed: int = 7,
) -> Image:
    """One face on a noisy background."""
    return paste(background(width, height, seed), face_ratio, cx, cy)


def darken(frame: Image, factor: float) -> Image:
    return (frame.astype(np.float32) * factor).astype(np.uint8)


def overexpose(frame: Image, gain: float) -> Image:
    return (frame.astype(np.float32) * gain).clip(0, 255).astype(np.uint8)


def haze(frame: Image, keep: float, grey: float = 128.0) -> Image:
    """Low contrast: `keep` of the picture over a uniform grey veil."""
    veiled = frame.astype(np.float32) * keep + np.float32(grey * (1.0 - keep))
    return veiled.astype(np.uint8)  # a mix of two 0-255 values stays within 0-255


def blur(frame: Image, sigma: float) -> Image:
    blurred: Image = np.asarray(cv2.GaussianBlur(frame, (0, 0), sigma), np.uint8)
    return blurred


def rotate(frame: Image, degrees: float) -> Image:
    """Turned about the frame centre; positive: counter-clockwise on screen (OpenCV's sense)."""
    height, width = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    turned = cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    return np.asarray(turned, np.uint8)
