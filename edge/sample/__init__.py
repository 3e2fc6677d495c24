"""A public-domain portrait (see README.md here) for the demo's camera, the tests and benchmarks."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

PHOTO = Path(__file__).resolve().with_name("astronaut.jpg")
# Head and shoulders in the photograph (rows, columns), and the face box inside that crop as
# OpenCV's frontal-face cascade reports it (x, y, side).
HEAD = (slice(10, 250), slice(110, 340))
FACE = (67, 56, 95)


@functools.cache
def _photo() -> NDArray[np.uint8]:
    image = cv2.imread(str(PHOTO), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(PHOTO)
    return np.asarray(image, np.uint8)


def head() -> NDArray[np.uint8]:
    """The head-and-shoulders crop of the photograph (a copy)."""
    return _photo()[HEAD].copy()


def head_scaled(face_height: float) -> NDArray[np.uint8]:
    """The head-and-shoulders crop scaled so that its face box is `face_height` pixels high."""
    scale = face_height / FACE[2]
    scaled = cv2.resize(head(), None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return np.asarray(scaled, np.uint8)
