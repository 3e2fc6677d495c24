"""The portrait crop: ISO/IEC 19794-5 token-frontal geometry, levelled eyes, JPEG bytes.

Geometry (ISO/IEC 19794-5:2005 §9, token frontal image), for a portrait W wide and W / 0.75
high: the eye centres at (0.375 W, 0.6 W) and (0.625 W, 0.6 W) from the top-left corner, i.e.
0.25 W apart, their midpoint on the vertical centre line and 0.45 H from the top. A token image
meets the full-frontal ranges that BSI TR-03121 §4.4.2 checks: horizontal centre 0.45-0.55, eye
line 0.3-0.5 H from the top, and for an average head (about 2.3 inter-eye distances wide, 3.5
from chin to crown) head width ~0.58 W (0.5-0.75) and head height ~0.66 H (0.6-0.9). The frame
is turned about the eye midpoint so the eyes are level (TR-03121 §4.3.1: crop and de-rotate).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import msgspec
import numpy as np
from numpy.typing import NDArray

from edge.portrait.detect import estimated_eyes
from edge.portrait.errors import PortraitError
from edge.portrait.measures import inter_eye, roll
from edge.portrait.results import Eyes, FrameAnalysis, Point
from edge.portrait.thresholds import PortraitThresholds

EYE_SPACING = 0.25  # inter-eye distance / portrait width
EYE_LINE = 0.6  # eye line from the top / portrait width (= 0.45 of the height)
NEUTRAL = (200, 200, 200)  # light grey, the plain light background ICAO photos ask for
MIN_JPEG_QUALITY = 50  # below this a portrait is not worth storing: refuse instead


class CropInfo(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """How a portrait was cut from its frame (for the portrait record; no image data)."""

    width: int
    height: int
    scale: float  # portrait pixels per frame pixel; above 1 the portrait was upscaled
    rotation: float  # degrees the frame was turned to level the eyes
    eyes: Eyes  # eye centres in portrait pixels
    padded: bool  # the crop reached beyond the frame
    padding: float  # share of the portrait filled by padding


@dataclass(frozen=True, slots=True)
class Portrait:
    """A cropped portrait (BGR pixels) and how it was cut."""

    image: NDArray[np.uint8]
    info: CropInfo


def crop_portrait(
    frame: NDArray[np.uint8], analysis: FrameAnalysis, thresholds: PortraitThresholds
) -> Portrait:
    """Cut the configured-size portrait from the frame that `analysis` describes."""
    if not analysis.one_face or analysis.face is None:
        raise PortraitError("a portrait is cut only from a frame with exactly one face")
    if frame.shape[:2] != (analysis.frame_height, analysis.frame_width):
        raise PortraitError(
            f"frame is {frame.shape[1]}x{frame.shape[0]}, the analysis was of "
            f"{analysis.frame_width}x{analysis.frame_height}"
        )
    eyes = analysis.eyes if analysis.eyes is not None else estimated_eyes(analysis.face)
    width, height = thresholds.width, thresholds.height
    scale = EYE_SPACING * width / max(1.0, inter_eye(eyes))
    angle = 0.0 if eyes.estimated else roll(eyes)
    mid_x = (eyes.left.x + eyes.right.x) / 2
    mid_y = (eyes.left.y + eyes.right.y) / 2

    source = frame
    warp_scale = scale
    if scale < 1:
        # Shrink first with area averaging (no aliasing), then only turn and shift.
        size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
        source = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
        sx, sy = size[0] / frame.shape[1], size[1] / frame.shape[0]
        mid_x, mid_y = mid_x * sx, mid_y * sy
        warp_scale = scale / sx
    # Turning the picture by -roll (clockwise for a positive roll) levels the eyes.
    matrix = cv2.getRotationMatrix2D((mid_x, mid_y), -angle, warp_scale)
    matrix[0, 2] += width / 2 - mid_x
    matrix[1, 2] += EYE_LINE * width - mid_y
    border = cv2.BORDER_REPLICATE if thresholds.pad == "replicate" else cv2.BORDER_CONSTANT
    interpolation = cv2.INTER_LINEAR if scale < 1 else cv2.INTER_CUBIC
    image = cv2.warpAffine(
        source, matrix, (width, height), flags=interpolation, borderMode=border, borderValue=NEUTRAL
    )
    padding = _padding(matrix, source.shape[1], source.shape[0], width, height)
    half = EYE_SPACING * width / 2
    info = CropInfo(
        width=width,
        height=height,
        scale=round(scale, 4),
        rotation=round(-angle, 3) + 0.0,  # + 0.0: no "-0.0" in the record
        eyes=Eyes(
            left=Point(width / 2 - half, EYE_LINE * width),
            right=Point(width / 2 + half, EYE_LINE * width),
            estimated=eyes.estimated,
        ),
        padded=padding > 0,
        padding=round(padding, 4),
    )
    return Portrait(np.asarray(image, dtype=np.uint8), info)


def _padding(matrix: cv2.typing.MatLike, src_w: int, src_h: int, width: int, height: int) -> float:
    """Share of the portrait whose pixels come from outside the source frame."""
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float)
    mapped = corners @ inverse.T
    inside = (
        mapped[:, 0].min() >= 0
        and mapped[:, 1].min() >= 0
        and mapped[:, 0].max() <= src_w
        and mapped[:, 1].max() <= src_h
    )
    if inside:
        return 0.0
    mask = np.full((src_h, src_w), 255, np.uint8)
    covered = cv2.warpAffine(
        mask, matrix, (width, height), flags=cv2.INTER_NEAREST, borderValue=(0,)
    )
    return 1.0 - int(np.count_nonzero(covered)) / (width * height)


def encode_jpeg(image: NDArray[np.uint8], quality: int, max_bytes: int | None = None) -> bytes:
    """JPEG bytes of `image` at `quality`; lower qualities (from the same pixels) if too big.

    Each attempt encodes the original pixels, so the stored portrait is compressed once
    (TR-03121 §4.6: no repeated lossy compression). PortraitError when even quality
    MIN_JPEG_QUALITY does not fit `max_bytes`.
    """
    if not 1 <= quality <= 100:
        raise PortraitError(f"expected a JPEG quality of 1-100, got {quality}")
    current = quality
    while True:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, current])
        if not ok:
            raise PortraitError(f"JPEG encoding failed for an image of shape {image.shape}")
        data = encoded.tobytes()
        if max_bytes is None or len(data) <= max_bytes:
            return data
        if current <= MIN_JPEG_QUALITY:
            raise PortraitError(
                f"portrait JPEG is {len(data)} bytes at quality {current}, above {max_bytes}"
            )
        current = max(MIN_JPEG_QUALITY, current - 5)


def portrait_jpeg(
    frame: NDArray[np.uint8], analysis: FrameAnalysis, thresholds: PortraitThresholds
) -> tuple[bytes, CropInfo]:
    """Crop and encode with the configured size, quality and size cap."""
    portrait = crop_portrait(frame, analysis, thresholds)
    data = encode_jpeg(portrait.image, thresholds.jpeg_quality, thresholds.max_jpeg_bytes)
    return data, portrait.info
