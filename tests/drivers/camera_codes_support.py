"""Synthetic camera frames with barcodes: zxing-cpp symbols on noisy grey canvases, MJPG video."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from drivers.camera.codes import ZXING_FORMATS

Grey = NDArray[np.uint8]
# Paper grey behind the symbols; the symbols' own quiet zone is white.
BACKGROUND = 170
FPS = 15.0
# Formats to write a symbology with when it is not the symbology's own format (variants).
WRITE_FORMATS = {
    "ean13": zxingcpp.BarcodeFormat.EAN13,
    "ean8": zxingcpp.BarcodeFormat.EAN8,
    "upca": zxingcpp.BarcodeFormat.UPCA,
    "upce": zxingcpp.BarcodeFormat.UPCE,
}


@dataclass(frozen=True)
class Placed:
    """A symbol image and where its centre goes on the canvas."""

    image: Grey
    centre: tuple[int, int]


def symbol(content: str | bytes, fmt: str, scale: int) -> Grey:
    """The zxing-cpp rendering of `content` in `fmt` (our name or a WRITE_FORMATS variant)."""
    write_as = WRITE_FORMATS.get(fmt) or ZXING_FORMATS[fmt]
    barcode = zxingcpp.create_barcode(content, write_as)
    return np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale), dtype=np.uint8)


def frame(
    size: tuple[int, int],
    symbols: Iterable[Placed],
    *,
    seed: int,
    angle: float = 0.0,
    blur: float = 0.0,
    noise: float = 3.0,
) -> Grey:
    """A `size` (width, height) grey frame: symbols pasted, turned by `angle` degrees
    (counter-clockwise, about the frame centre), Gaussian blur of sigma `blur`, noise of sigma
    `noise`."""
    width, height = size
    canvas = np.full((height, width), BACKGROUND, np.float32)
    for placed in symbols:
        h, w = placed.image.shape
        top, left = placed.centre[1] - h // 2, placed.centre[0] - w // 2
        canvas[top : top + h, left : left + w] = placed.image
    if angle:
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        canvas = np.asarray(
            cv2.warpAffine(canvas, turn, (width, height), borderValue=BACKGROUND), np.float32
        )
    if blur:
        canvas = np.asarray(cv2.GaussianBlur(canvas, (0, 0), blur), np.float32)
    canvas += np.random.default_rng(seed).normal(0.0, noise, canvas.shape).astype(np.float32)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def blank(size: tuple[int, int], *, seed: int) -> Grey:
    """A frame with nothing in view."""
    return frame(size, (), seed=seed)


def write_video(path: Path, frames: Sequence[Grey]) -> Path:
    """An MJPG AVI of `frames` (all the same size) at FPS."""
    height, width = frames[0].shape
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPG AVI files here"
    try:
        for grey in frames:
            writer.write(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    finally:
        writer.release()
    return path


def read_video(path: Path) -> list[NDArray[Any]]:
    """Every frame of the video at `path`, as OpenCV decodes it (BGR)."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"OpenCV cannot open {path.name}"
    frames = []
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(image)
    finally:
        capture.release()
    return frames


def through_video(tmp_path: Path, frames: Sequence[Grey], name: str = "codes.avi") -> list[Any]:
    """`frames` written as an MJPG video and read back frame by frame."""
    decoded = read_video(write_video(tmp_path / name, frames))
    assert len(decoded) == len(frames)
    return decoded


def jpeg(grey: Grey, quality: int) -> Grey:
    """`grey` after a round trip through JPEG at `quality`, as a camera's MJPG stream sends it."""
    ok, data = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_GRAYSCALE), dtype=np.uint8)


def turn_between(a: int, b: int) -> int:
    """The smaller angle between two orientations, in degrees."""
    return min((a - b) % 360, (b - a) % 360)


def centre_of(corners: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """The mean of a read's corner points."""
    points = np.asarray(corners, dtype=np.float64)
    return float(points[:, 0].mean()), float(points[:, 1].mean())


class Ticker:
    """A monotonic clock for the scanner that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
