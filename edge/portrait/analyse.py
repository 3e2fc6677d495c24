"""One frame in, one `FrameAnalysis` out: detection, measures, verdicts, score and hints.

Pure and blocking (tens of milliseconds): callers run it in a worker thread, each thread with its
own `FaceDetector`.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.portrait.detect import FaceDetector
from edge.portrait.errors import PortraitError
from edge.portrait.feedback import hints
from edge.portrait.measures import face_measures, no_face_measures
from edge.portrait.results import FrameAnalysis
from edge.portrait.score import frame_score
from edge.portrait.thresholds import PortraitThresholds

MIN_SIDE = 32  # pixels; a smaller frame is not a camera frame


def to_grey(frame: Any) -> NDArray[np.uint8]:
    """The grey image of an 8-bit BGR, BGRA or grey frame; PortraitError for anything else."""
    if not isinstance(frame, np.ndarray):
        raise PortraitError(f"expected a numpy image, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise PortraitError(f"expected an 8-bit image, got dtype {frame.dtype}")
    channels = 1 if frame.ndim == 2 else frame.shape[2] if frame.ndim == 3 else 0
    if channels not in (1, 3, 4):
        raise PortraitError(f"expected a grey, BGR or BGRA image, got shape {frame.shape}")
    if min(frame.shape[:2]) < MIN_SIDE:
        raise PortraitError(f"expected an image of at least {MIN_SIDE} px, got {frame.shape}")
    if channels == 1:
        return np.ascontiguousarray(frame.reshape(frame.shape[:2]), dtype=np.uint8)
    code = cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY
    return np.asarray(cv2.cvtColor(frame, code), dtype=np.uint8)


def analyse_frame(
    frame: NDArray[np.uint8], detector: FaceDetector, thresholds: PortraitThresholds
) -> FrameAnalysis:
    """Detect the face and eyes in `frame` and measure, judge, score and explain its quality."""
    grey = to_grey(frame)
    height, width = grey.shape
    faces = detector.faces(
        grey, detect_size=thresholds.detect_size, min_face=thresholds.detect_min_face
    )
    face = faces[0] if faces else None
    eyes = None
    if len(faces) == 1:
        eyes = detector.eyes(grey, faces[0])
        measures = face_measures(grey, faces[0], eyes, thresholds)
    else:
        measures = no_face_measures(len(faces))
    return FrameAnalysis(
        frame_width=width,
        frame_height=height,
        face=face,
        others=tuple(faces[1:]),
        eyes=eyes,
        measures=measures,
        score=frame_score(measures, thresholds),
        hints=hints(measures),
    )
