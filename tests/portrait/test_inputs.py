"""Bad frames, missing cascades and bad settings end in clear typed errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import cv2
import cv2.data
import msgspec
import numpy as np
import pytest

from edge.errors import EdgeError
from edge.portrait.analyse import analyse_frame
from edge.portrait.detect import EYE_CASCADES, FACE_CASCADE, FaceDetector
from edge.portrait.errors import PortraitError
from edge.portrait.results import HintCode
from edge.portrait.thresholds import PortraitThresholds
from tests.portrait import scenes


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"\xff\xd8 not pixels", "expected a numpy image, got bytes"),
        (np.zeros((100, 100, 3), np.float32), "8-bit"),
        (np.zeros((100, 100, 2), np.uint8), "grey, BGR or BGRA"),
        (np.zeros((100,), np.uint8), "grey, BGR or BGRA"),
        (np.zeros((16, 640, 3), np.uint8), "at least 32 px"),
    ],
)
def test_bad_frames_are_refused(detector: FaceDetector, frame: Any, message: str) -> None:
    with pytest.raises(PortraitError, match=message) as caught:
        analyse_frame(frame, detector, PortraitThresholds())
    assert isinstance(caught.value, EdgeError)


def test_grey_and_bgra_frames_give_the_bgr_result(detector: FaceDetector) -> None:
    frame = scenes.scene(0.35)
    settings = PortraitThresholds()
    colour = analyse_frame(frame, detector, settings)
    grey = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), np.uint8)
    bgra = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), np.uint8)
    assert analyse_frame(grey, detector, settings) == colour
    assert analyse_frame(bgra, detector, settings) == colour
    assert analyse_frame(grey[:, :, None], detector, settings) == colour


def test_missing_cascade_is_a_portrait_error(tmp_path: Path) -> None:
    with pytest.raises(PortraitError, match=FACE_CASCADE):
        FaceDetector.load(tmp_path)


def test_unreadable_cascade_is_a_portrait_error(tmp_path: Path) -> None:
    for name in EYE_CASCADES:
        shutil.copy(Path(cv2.data.haarcascades) / name, tmp_path / name)
    (tmp_path / FACE_CASCADE).write_text("not a cascade")
    with pytest.raises(PortraitError, match="could not be loaded"):
        FaceDetector.load(tmp_path)


def test_cascades_from_a_directory(tmp_path: Path) -> None:
    for name in (FACE_CASCADE, *EYE_CASCADES):
        shutil.copy(Path(cv2.data.haarcascades) / name, tmp_path / name)
    detector = FaceDetector.load(tmp_path)
    analysis = analyse_frame(scenes.scene(0.35), detector, PortraitThresholds())
    assert analysis.one_face
    assert analysis.hints == ()


def test_defaults_are_a_valid_section() -> None:
    settings = msgspec.convert({}, PortraitThresholds)
    assert settings == PortraitThresholds()
    assert (settings.width, settings.height) == (480, 640)
    assert settings.duration == 4.0
    assert settings.analysis_fps == 8.0
    assert settings.jpeg_quality == 90
    assert settings.max_roll == 8.0
    assert settings.min_inter_eye == 90.0
    assert msgspec.convert(msgspec.to_builtins(settings), PortraitThresholds) == settings


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"colour": True}, "unknown field `colour`"),
        ({"width": 500}, "<height> expected a 3:4 portrait"),
        ({"min_face_ratio": 0.6}, "<min_face_ratio> expected 0 < min_face_ratio < max_face_ratio"),
        ({"max_roll": 0}, "<max_roll> expected max_roll above zero"),
        ({"jpeg_quality": 101}, "<jpeg_quality>"),
        ({"min_score": 1.5}, "<min_score> expected min_score between 0 and 1"),
        ({"detect_min_face": 0.3}, "<detect_min_face>"),
        ({"pad": "mirror"}, "Invalid enum value 'mirror'"),
        ({"max_brightness": 300}, "<max_brightness> expected max_brightness at most 255"),
    ],
)
def test_bad_settings_name_their_key(section: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(section, PortraitThresholds, strict=True)


def test_settings_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        PortraitThresholds(0.2)  # type: ignore[call-arg]  # positional use is what is tested


def test_hint_codes_are_the_documented_ones() -> None:
    assert {code.value for code in HintCode} == {
        "no_face",
        "two_faces",
        "move_closer",
        "move_back",
        "centre_face",
        "too_dark",
        "too_bright",
        "hold_still",
        "head_tilted",
        "low_contrast",
    }
