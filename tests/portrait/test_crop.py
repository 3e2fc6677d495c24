"""The portrait crop: configured size, token geometry, levelled eyes, padding, JPEG."""

from __future__ import annotations

import cv2
import msgspec
import numpy as np
import pytest

from edge.portrait.analyse import analyse_frame
from edge.portrait.crop import NEUTRAL, CropInfo, crop_portrait, encode_jpeg, portrait_jpeg
from edge.portrait.detect import FaceDetector
from edge.portrait.errors import PortraitError
from edge.portrait.results import FrameAnalysis
from edge.portrait.thresholds import PortraitThresholds
from tests.portrait import scenes

# The crop is a close-up: let the check search smaller faces than in a camera frame.
RECHECK = PortraitThresholds(detect_min_face=0.1, min_face_ratio=0.2)


def analysed(detector: FaceDetector, frame: scenes.Image) -> FrameAnalysis:
    return analyse_frame(frame, detector, PortraitThresholds())


def assert_token_geometry(detector: FaceDetector, image: scenes.Image) -> None:
    """Eyes found again in the portrait where ISO/IEC 19794-5's token geometry puts them."""
    height, width = image.shape[:2]
    check = analyse_frame(image, detector, RECHECK)
    assert check.eyes is not None
    assert not check.eyes.estimated
    tolerance = 0.02 * width
    assert check.eyes.left.x == pytest.approx(0.375 * width, abs=tolerance)
    assert check.eyes.right.x == pytest.approx(0.625 * width, abs=tolerance)
    for eye in (check.eyes.left, check.eyes.right):
        assert eye.y == pytest.approx(0.6 * width, abs=tolerance)
        assert eye.y / height == pytest.approx(0.45, abs=0.02)  # BSI eye line 0.3-0.5
    assert check.measures.roll.value is not None
    assert abs(check.measures.roll.value) < 2.5
    assert check.face is not None
    assert 0.45 <= check.face.centre[0] / width <= 0.55  # BSI horizontal centre


def test_crop_has_the_configured_size_and_the_face_in_place(detector: FaceDetector) -> None:
    frame = scenes.scene(0.35)
    analysis = analysed(detector, frame)
    portrait = crop_portrait(frame, analysis, PortraitThresholds())
    assert portrait.image.shape == (640, 480, 3)
    assert portrait.image.dtype == np.uint8
    info = portrait.info
    assert (info.width, info.height) == (480, 640)
    assert not info.padded
    assert info.padding == 0.0
    assert info.eyes.left.x == 180.0
    assert info.eyes.right.x == 300.0
    assert info.eyes.left.y == info.eyes.right.y == 288.0
    assert analysis.measures.inter_eye.value is not None
    assert info.scale == pytest.approx(120 / analysis.measures.inter_eye.value, rel=0.01)
    assert_token_geometry(detector, portrait.image)


@pytest.mark.parametrize(("width", "height"), [(300, 400), (600, 800)])
def test_other_configured_sizes(detector: FaceDetector, width: int, height: int) -> None:
    frame = scenes.scene(0.35)
    settings = PortraitThresholds(width=width, height=height)
    portrait = crop_portrait(frame, analysed(detector, frame), settings)
    assert portrait.image.shape == (height, width, 3)
    assert_token_geometry(detector, portrait.image)


def test_tilted_head_is_levelled(detector: FaceDetector) -> None:
    frame = scenes.rotate(scenes.scene(0.35), 10)
    analysis = analysed(detector, frame)
    assert analysis.measures.roll.value is not None
    portrait = crop_portrait(frame, analysis, PortraitThresholds())
    assert portrait.info.rotation == pytest.approx(-analysis.measures.roll.value, abs=0.01)
    assert_token_geometry(detector, portrait.image)


def test_face_near_the_border_is_padded_and_flagged(detector: FaceDetector) -> None:
    frame = scenes.scene(0.32, 0.12, 0.35)
    analysis = analysed(detector, frame)
    portrait = crop_portrait(frame, analysis, PortraitThresholds())
    assert portrait.info.padded
    assert 0.05 < portrait.info.padding < 0.5
    assert portrait.image.shape == (640, 480, 3)
    assert_token_geometry(detector, portrait.image)


def test_neutral_padding_fills_light_grey(detector: FaceDetector) -> None:
    frame = scenes.scene(0.32, 0.12, 0.35)
    analysis = analysed(detector, frame)
    portrait = crop_portrait(frame, analysis, PortraitThresholds(pad="neutral"))
    assert portrait.info.padded
    # The face is at the frame's left edge: the portrait's left column lies outside the frame.
    column = portrait.image[:, 0].astype(int)
    assert (np.abs(column - np.array(NEUTRAL)) <= 1).all()


def test_large_face_is_padded_above_and_below(detector: FaceDetector) -> None:
    frame = scenes.scene(0.48)
    portrait = crop_portrait(frame, analysed(detector, frame), PortraitThresholds())
    assert portrait.info.padded
    assert portrait.info.scale < 1  # shrunk from the frame, never enlarged
    assert_token_geometry(detector, portrait.image)


def test_small_face_is_enlarged_and_says_so(detector: FaceDetector) -> None:
    frame = scenes.scene(0.25)
    portrait = crop_portrait(frame, analysed(detector, frame), PortraitThresholds())
    assert portrait.info.scale > 1
    assert portrait.image.shape == (640, 480, 3)


def test_without_eyes_the_face_box_places_the_crop(detector: FaceDetector) -> None:
    frame = scenes.scene(0.35)
    analysis = msgspec.structs.replace(analysed(detector, frame), eyes=None)
    portrait = crop_portrait(frame, analysis, PortraitThresholds())
    assert portrait.info.eyes.estimated
    assert portrait.info.rotation == 0.0
    check = analyse_frame(portrait.image, detector, RECHECK)
    assert check.eyes is not None
    # The estimate is coarser than measured eyes but keeps the eyes near the token places.
    assert check.eyes.left.x == pytest.approx(180, abs=20)
    assert check.eyes.right.x == pytest.approx(300, abs=20)
    assert check.eyes.left.y == pytest.approx(288, abs=20)


def test_jpeg_decodes_back(detector: FaceDetector) -> None:
    frame = scenes.scene(0.35)
    settings = PortraitThresholds()
    data, info = portrait_jpeg(frame, analysed(detector, frame), settings)
    assert data[:2] == b"\xff\xd8"
    assert len(data) <= settings.max_jpeg_bytes
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert decoded.shape == (640, 480, 3)
    assert isinstance(info, CropInfo)
    assert msgspec.json.decode(msgspec.json.encode(info), type=CropInfo) == info
    assert_token_geometry(detector, np.asarray(decoded, np.uint8))


def test_jpeg_quality_steps_down_to_fit_the_cap() -> None:
    noise = np.random.default_rng(5).integers(0, 256, (640, 480, 3), dtype=np.uint8)
    full = encode_jpeg(noise, 95)
    capped = encode_jpeg(noise, 95, max_bytes=len(full) * 3 // 4)
    assert len(capped) <= len(full) * 3 // 4
    with pytest.raises(PortraitError, match="above 1000"):
        encode_jpeg(noise, 95, max_bytes=1000)
    with pytest.raises(PortraitError, match="quality"):
        encode_jpeg(noise, 0)


def test_no_portrait_without_exactly_one_face(detector: FaceDetector) -> None:
    frame = scenes.background()
    with pytest.raises(PortraitError, match="exactly one face"):
        crop_portrait(frame, analysed(detector, frame), PortraitThresholds())


def test_frame_must_be_the_analysed_one(detector: FaceDetector) -> None:
    analysis = analysed(detector, scenes.scene(0.35))
    with pytest.raises(PortraitError, match="1280x720"):
        crop_portrait(scenes.scene(0.4, width=640, height=480), analysis, PortraitThresholds())
