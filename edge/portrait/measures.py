"""Per-frame quality measures on the full-resolution face region, and their verdicts.

In the spirit of ISO/IEC 19794-5 / 29794-5 and BSI TR-03121: face count, size, inter-eye
distance, centring, roll, brightness, contrast, sharpness and clipping. All measures of the
face's pixels use the inner face region (the Haar box without its borders, which hold hair,
ears and background).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.portrait.results import Box, Eyes, Measure, Measures, QualityVerdict
from edge.portrait.thresholds import PortraitThresholds

# Inner face region, as fractions of the face box: left, top, right, bottom.
INNER = (0.15, 0.1, 0.85, 0.9)
# Sharpness is taken on the inner region resampled to this width: independent of face size.
SHARPNESS_WIDTH = 128
# Luminance at or below / at or above these counts as clipped.
CLIP_LOW = 5
CLIP_HIGH = 250

Bounds = tuple[float | None, float | None]
_UNDETERMINED = Measure(None, QualityVerdict.UNDETERMINED)


class FaceStats(NamedTuple):
    """Luminance statistics of the inner face region."""

    brightness: float
    contrast: float
    sharpness: float
    underexposed: float
    overexposed: float


def bounds(t: PortraitThresholds) -> dict[str, Bounds]:
    """(low, high) limits of every measure but `faces`; None: no limit on that side."""
    return {
        "face_ratio": (t.min_face_ratio, t.max_face_ratio),
        "face_px": (t.min_face_px, None),
        "inter_eye": (t.min_inter_eye, None),
        "offset_x": (-t.max_offset_x, t.max_offset_x),
        "offset_y": (-t.max_offset_y, t.max_offset_y),
        "roll": (-t.max_roll, t.max_roll),
        "brightness": (t.min_brightness, t.max_brightness),
        "contrast": (t.min_contrast, None),
        "sharpness": (t.min_sharpness, None),
        "underexposed": (None, t.max_underexposed),
        "overexposed": (None, t.max_overexposed),
    }


def judge(value: float | None, low: float | None, high: float | None) -> QualityVerdict:
    """The verdict of `value` against inclusive limits."""
    if value is None or math.isnan(value):
        return QualityVerdict.UNDETERMINED
    if low is not None and value < low:
        return QualityVerdict.TOO_LOW
    if high is not None and value > high:
        return QualityVerdict.TOO_HIGH
    return QualityVerdict.OK


def inner_region(grey: NDArray[np.uint8], face: Box) -> NDArray[np.uint8]:
    """The inner face region of the full-resolution grey frame (a view, not a copy)."""
    left, top, right, bottom = INNER
    x0, x1 = face.x + round(left * face.width), face.x + round(right * face.width)
    y0, y1 = face.y + round(top * face.height), face.y + round(bottom * face.height)
    return grey[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]


def face_stats(region: NDArray[np.uint8]) -> FaceStats:
    """Brightness, contrast, sharpness and clipping of a face region."""
    mean, std = cv2.meanStdDev(region)
    brightness, contrast = float(mean[0, 0]), float(std[0, 0])
    height, width = region.shape
    size = (SHARPNESS_WIDTH, max(1, round(height * SHARPNESS_WIDTH / width)))
    interpolation = cv2.INTER_AREA if width > SHARPNESS_WIDTH else cv2.INTER_LINEAR
    resampled = cv2.resize(region, size, interpolation=interpolation)
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(resampled, cv2.CV_32F))
    _, res_std = cv2.meanStdDev(resampled)
    # Divided by the luminance variance: a darker or flatter face is not a blurred one.
    sharpness = 1000.0 * float(lap_std[0, 0]) ** 2 / max(1.0, float(res_std[0, 0]) ** 2)
    total = region.size
    under = int(np.count_nonzero(region <= CLIP_LOW)) / total
    over = int(np.count_nonzero(region >= CLIP_HIGH)) / total
    return FaceStats(brightness, contrast, sharpness, under, over)


def inter_eye(eyes: Eyes) -> float:
    """Pixels between the eye centres."""
    return math.hypot(eyes.right.x - eyes.left.x, eyes.right.y - eyes.left.y)


def roll(eyes: Eyes) -> float:
    """Degrees of the eye line; positive when the head is turned counter-clockwise on screen."""
    # Image y grows downwards: the right-hand eye higher up means a counter-clockwise turn.
    return math.degrees(math.atan2(eyes.left.y - eyes.right.y, eyes.right.x - eyes.left.x))


def count_measure(faces: int) -> Measure:
    """Exactly one face is required."""
    return Measure(float(faces), judge(float(faces), 1, 1))


def no_face_measures(faces: int) -> Measures:
    """Measures of a frame without exactly one face: everything but the count undetermined."""
    return Measures(
        faces=count_measure(faces),
        face_ratio=_UNDETERMINED,
        face_px=_UNDETERMINED,
        inter_eye=_UNDETERMINED,
        offset_x=_UNDETERMINED,
        offset_y=_UNDETERMINED,
        roll=_UNDETERMINED,
        brightness=_UNDETERMINED,
        contrast=_UNDETERMINED,
        sharpness=_UNDETERMINED,
        underexposed=_UNDETERMINED,
        overexposed=_UNDETERMINED,
    )


def face_measures(
    grey: NDArray[np.uint8], face: Box, eyes: Eyes | None, thresholds: PortraitThresholds
) -> Measures:
    """Every measure of a frame with exactly one face; `eyes` None: eyes not found."""
    height, width = grey.shape
    cx, cy = face.centre
    stats = face_stats(inner_region(grey, face))
    values: dict[str, float | None] = {
        "face_ratio": face.height / height,
        "face_px": float(face.height),
        "inter_eye": None if eyes is None else inter_eye(eyes),
        "offset_x": (cx - width / 2) / width,
        "offset_y": (cy - height / 2) / height,
        "roll": None if eyes is None else roll(eyes),
        **stats._asdict(),
    }
    limits = bounds(thresholds)
    judged = {
        name: Measure(None if value is None else round(value, 4), judge(value, *limits[name]))
        for name, value in values.items()
    }
    return Measures(faces=count_measure(1), **judged)
