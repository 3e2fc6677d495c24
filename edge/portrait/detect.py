"""Face and eye detection with the Haar cascades shipped in OpenCV 4.x (`cv2.data.haarcascades`).

Faces are searched on a downscaled grey image: a cascade's cost is set by the smallest face it
looks for relative to the image, not by the image's resolution, so the downscale costs nothing
in recall and the smallest face searched (`detect_min_face`) is the speed knob. Eyes are searched
only in the upper part of the face box, resampled to a fixed width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import cv2.data
import numpy as np
from numpy.typing import NDArray

from edge.portrait.errors import PortraitError
from edge.portrait.results import Box, Eyes, Point

# alt2 rather than "default": on our test scenes "default" reported a second, nested face on
# tilted heads and lost strongly lit faces that alt2 kept, at a similar cost per frame.
FACE_CASCADE = "haarcascade_frontalface_alt2.xml"
# The plain eye cascade first; the eyeglasses one only when the first finds no pair.
EYE_CASCADES = ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml")

# Pyramid steps. Faces: 1.15 costs two thirds of 1.1 and found every face 1.1 found on our
# test scenes (1.2 began to lose tilted heads). Eyes: 1.1, their search is small and their
# position sets the roll.
_FACE_STEP = 1.15
_EYE_STEP = 1.1
_FACE_NEIGHBOURS = 4
_MIN_WINDOW = 20  # alt2 window size: no face smaller than this can be found

# Eye search: the band from 15 % to 60 % of the face box height, resampled to this width;
# the eyes are ~27 px wide there, searched between 18 % and 36 % of the width. The eye cascade
# is costly per window (a face passes many of its stages): the band and the sizes keep it ~5 ms.
_EYE_WIDTH = 100
_EYE_BAND = (0.15, 0.6)
_EYE_SIZES = (0.18, 0.36)
_EYE_NEIGHBOURS = 3
# Where the eyes sit in an alt2 face box (fractions of its width / height), measured on frontal
# faces; used to pick among eye candidates and to estimate the eyes when none are found.
EYE_LEFT_X = 0.27
EYE_RIGHT_X = 0.73
EYE_Y = 0.38
_EYE_V_RANGE = (0.2, 0.55)  # accepted eye heights in the box
_EYE_SPACING = (0.3, 0.7)  # accepted distance between the eyes, in box widths
_MAX_EYE_ANGLE = 30.0  # degrees; a steeper pair is a false detection, not a head


Grey = NDArray[np.uint8]


def _load(directory: Path, name: str) -> cv2.CascadeClassifier:
    path = directory / name
    if not path.is_file():
        raise PortraitError(f"Haar cascade {name} not found (OpenCV 4.x wheels ship it; 5.x not)")
    try:
        cascade = cv2.CascadeClassifier(str(path))
    except (cv2.error, SystemError) as exc:  # OpenCV reports an unreadable file as SystemError
        raise PortraitError(f"Haar cascade {name} could not be loaded") from exc
    if cascade.empty():
        raise PortraitError(f"Haar cascade {name} could not be loaded")
    return cascade


class FaceDetector:
    """Finds faces and the eyes in a face. Not thread-safe: one detector per worker thread."""

    def __init__(self, face: cv2.CascadeClassifier, eyes: Sequence[cv2.CascadeClassifier]) -> None:
        self._face = face
        self._eyes = tuple(eyes)

    @classmethod
    def load(cls, directory: Path | None = None) -> FaceDetector:
        """Load the cascades from `directory` (default: the ones shipped with OpenCV)."""
        where = Path(cv2.data.haarcascades) if directory is None else directory
        return cls(_load(where, FACE_CASCADE), [_load(where, name) for name in EYE_CASCADES])

    def faces(self, grey: Grey, *, detect_size: int, min_face: float) -> list[Box]:
        """Faces in a grey frame, largest first; `min_face` is a fraction of the frame height."""
        height, width = grey.shape
        scale = min(1.0, detect_size / max(height, width))
        small = grey
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8)
            scale = small.shape[0] / height
        side = max(_MIN_WINDOW, round(min_face * small.shape[0]))
        if side > min(small.shape):
            return []
        found = self._face.detectMultiScale(
            small, _FACE_STEP, _FACE_NEIGHBOURS, minSize=(side, side)
        )
        boxes = [_to_frame(rect, scale, width, height) for rect in found]
        boxes.sort(key=lambda box: box.width * box.height, reverse=True)
        return _without_nested(boxes)

    def eyes(self, grey: Grey, face: Box) -> Eyes | None:
        """The eye pair inside `face`, or None when no cascade finds a plausible pair."""
        top = face.y + round(face.height * _EYE_BAND[0])
        bottom = face.y + round(face.height * _EYE_BAND[1])
        roi = grey[top:bottom, face.x : face.x + face.width]
        if roi.shape[0] < 8 or roi.shape[1] < 8:
            return None
        scale = _EYE_WIDTH / roi.shape[1]
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        size = (_EYE_WIDTH, max(1, round(roi.shape[0] * scale)))
        small = cv2.resize(roi, size, interpolation=interpolation)
        smallest, largest = (round(_EYE_WIDTH * share) for share in _EYE_SIZES)
        # The band starts below the box top: `offset` and `box_height` in `small` pixels.
        offset, box_height = (top - face.y) * scale, face.height * scale
        for cascade in self._eyes:
            found = cascade.detectMultiScale(
                small,
                _EYE_STEP,
                _EYE_NEIGHBOURS,
                minSize=(smallest, smallest),
                maxSize=(largest, largest),
            )
            pair = _pair(found, offset, box_height)
            if pair is not None:
                (lx, ly), (rx, ry) = pair
                return Eyes(
                    left=Point(float(face.x + lx / scale), float(face.y + ly / scale)),
                    right=Point(float(face.x + rx / scale), float(face.y + ry / scale)),
                )
        return None


def estimated_eyes(face: Box) -> Eyes:
    """Eye positions derived from the face box alone (flagged as estimated)."""
    y = face.y + EYE_Y * face.height
    return Eyes(
        left=Point(face.x + EYE_LEFT_X * face.width, y),
        right=Point(face.x + EYE_RIGHT_X * face.width, y),
        estimated=True,
    )


def _to_frame(rect: Sequence[int], scale: float, width: int, height: int) -> Box:
    x, y, w, h = (round(float(v) / scale) for v in rect)
    x, y = max(0, x), max(0, y)
    return Box(x, y, max(1, min(w, width - x)), max(1, min(h, height - y)))


def _without_nested(boxes: list[Box]) -> list[Box]:
    """Drop a box whose centre lies inside a larger one: a second hit on the same face."""
    kept: list[Box] = []
    for box in boxes:
        cx, cy = box.centre
        inside = any(k.x <= cx <= k.x + k.width and k.y <= cy <= k.y + k.height for k in kept)
        if not inside:
            kept.append(box)
    return kept


def _pair(
    found: Sequence[Sequence[int]], offset: float, box_height: float
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The best (left, right) eye centres among cascade hits, in resampled face-box pixels."""
    width = float(_EYE_WIDTH)
    low, high = _EYE_V_RANGE
    centres = [(x + w / 2, offset + y + h / 2) for x, y, w, h in found]
    centres = [(u, v) for u, v in centres if low <= v / box_height <= high]
    left = [(u, v) for u, v in centres if u < width / 2]
    right = [(u, v) for u, v in centres if u >= width / 2]
    if not left or not right:
        return None
    expected_v = EYE_Y * box_height

    def nearest(points: list[tuple[float, float]], expected_u: float) -> tuple[float, float]:
        return min(points, key=lambda p: math.hypot(p[0] - expected_u, p[1] - expected_v))

    lx, ly = nearest(left, EYE_LEFT_X * width)
    rx, ry = nearest(right, EYE_RIGHT_X * width)
    spacing = math.hypot(rx - lx, ry - ly) / width
    angle = abs(math.degrees(math.atan2(ry - ly, rx - lx)))
    if not _EYE_SPACING[0] <= spacing <= _EYE_SPACING[1] or angle > _MAX_EYE_ANGLE:
        return None
    return (lx, ly), (rx, ry)
