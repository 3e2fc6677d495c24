"""Portrait quality from camera frames: Haar face + eyes, ISO/BSI-style measures, crop, JPEG.

Pure analysis: numpy frames in, msgspec structs and bytes out; the only I/O is loading the Haar
cascades shipped with OpenCV (`FaceDetector.load`). Blocking: run it in a worker thread.
"""

from __future__ import annotations

from edge.portrait.analyse import analyse_frame
from edge.portrait.crop import CropInfo, Portrait, crop_portrait, encode_jpeg, portrait_jpeg
from edge.portrait.detect import FaceDetector
from edge.portrait.errors import PortraitError
from edge.portrait.feedback import hints
from edge.portrait.results import (
    Box,
    Direction,
    Eyes,
    FrameAnalysis,
    Hint,
    HintCode,
    Measure,
    Measures,
    Point,
    QualityVerdict,
)
from edge.portrait.select import acceptable, best_frame
from edge.portrait.thresholds import PortraitThresholds

__all__ = [
    "Box",
    "CropInfo",
    "Direction",
    "Eyes",
    "FaceDetector",
    "FrameAnalysis",
    "Hint",
    "HintCode",
    "Measure",
    "Measures",
    "Point",
    "Portrait",
    "PortraitError",
    "PortraitThresholds",
    "QualityVerdict",
    "acceptable",
    "analyse_frame",
    "best_frame",
    "crop_portrait",
    "encode_jpeg",
    "hints",
    "portrait_jpeg",
]
