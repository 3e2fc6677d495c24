"""Each quality measure moves the right way on real frames, with the hint an officer expects."""

from __future__ import annotations

import pytest

from edge.portrait.analyse import analyse_frame
from edge.portrait.detect import FaceDetector
from edge.portrait.results import Direction, FrameAnalysis, HintCode, QualityVerdict
from edge.portrait.thresholds import PortraitThresholds
from tests.portrait import scenes

OK = QualityVerdict.OK


def analyse(
    detector: FaceDetector, frame: scenes.Image, thresholds: PortraitThresholds | None = None
) -> FrameAnalysis:
    return analyse_frame(frame, detector, thresholds or PortraitThresholds())


def codes(analysis: FrameAnalysis) -> list[HintCode]:
    return [hint.code for hint in analysis.hints]


def value(analysis: FrameAnalysis, name: str) -> float:
    measure = getattr(analysis.measures, name)
    assert measure.value is not None, name
    return float(measure.value)


def test_good_frame_has_every_measure_ok_and_no_hint(detector: FaceDetector) -> None:
    analysis = analyse(detector, scenes.scene(0.35))
    assert analysis.one_face
    assert analysis.eyes is not None
    assert not analysis.eyes.estimated
    assert {name: m.verdict for name, m in analysis.measures.items()} == dict.fromkeys(
        analysis.measures.__struct_fields__, OK
    )
    assert analysis.hints == ()
    assert analysis.score == 1.0
    face = analysis.face
    assert face is not None
    # The eyes lie inside the upper half of the face box, left one on the left.
    for eye in (analysis.eyes.left, analysis.eyes.right):
        assert face.x < eye.x < face.x + face.width
        assert face.y < eye.y < face.y + face.height / 2
    assert analysis.eyes.left.x < analysis.eyes.right.x


def test_darker_frame_lower_brightness_and_too_dark(detector: FaceDetector) -> None:
    lit, dim, dark = (
        analyse(detector, scenes.darken(scenes.scene(0.35), f)) for f in (1.0, 0.6, 0.3)
    )
    assert value(lit, "brightness") > value(dim, "brightness") > value(dark, "brightness")
    assert dark.measures.brightness.verdict is QualityVerdict.TOO_LOW
    assert codes(dark) == [HintCode.TOO_DARK]
    assert HintCode.TOO_DARK not in codes(lit)
    # Sharpness is normalised by contrast: a dark face is not reported as blurred.
    assert dark.measures.sharpness.verdict is OK
    assert dark.score < lit.score


def test_overexposed_frame_clips_and_too_bright(detector: FaceDetector) -> None:
    base = analyse(detector, scenes.scene(0.35))
    burnt = analyse(detector, scenes.overexpose(scenes.scene(0.35), 1.3))
    assert value(burnt, "brightness") > value(base, "brightness")
    assert value(burnt, "overexposed") > 10 * max(value(base, "overexposed"), 0.001)
    assert burnt.measures.overexposed.verdict is QualityVerdict.TOO_HIGH
    assert codes(burnt) == [HintCode.TOO_BRIGHT]


def test_haze_lowers_contrast_and_low_contrast(detector: FaceDetector) -> None:
    clear, veiled = (analyse(detector, scenes.haze(scenes.scene(0.35), k)) for k in (1.0, 0.25))
    assert value(veiled, "contrast") < value(clear, "contrast") / 2
    assert veiled.measures.contrast.verdict is QualityVerdict.TOO_LOW
    assert veiled.measures.brightness.verdict is OK
    assert codes(veiled) == [HintCode.LOW_CONTRAST]


def test_blur_lowers_sharpness_and_hold_still(detector: FaceDetector) -> None:
    sharp, soft, blurred = (
        analyse(detector, scenes.blur(scenes.scene(0.35), s)) for s in (0.01, 1.0, 2.0)
    )
    assert value(sharp, "sharpness") > value(soft, "sharpness") > value(blurred, "sharpness")
    assert blurred.measures.sharpness.verdict is QualityVerdict.TOO_LOW
    assert codes(blurred) == [HintCode.HOLD_STILL]
    assert HintCode.HOLD_STILL not in codes(sharp)
    assert blurred.score < sharp.score


def test_sharpness_does_not_depend_on_face_size(detector: FaceDetector) -> None:
    small, large = (analyse(detector, scenes.scene(r)) for r in (0.3, 0.45))
    assert value(large, "sharpness") == pytest.approx(value(small, "sharpness"), rel=0.25)


def test_smaller_face_smaller_eye_distance_and_move_closer(detector: FaceDetector) -> None:
    near, middle, far = (analyse(detector, scenes.scene(r)) for r in (0.45, 0.32, 0.22))
    assert value(near, "inter_eye") > value(middle, "inter_eye") > value(far, "inter_eye")
    assert value(near, "face_px") > value(middle, "face_px") > value(far, "face_px")
    assert value(far, "face_ratio") == pytest.approx(0.22, abs=0.04)
    assert far.measures.inter_eye.verdict is QualityVerdict.TOO_LOW
    assert codes(far) == [HintCode.MOVE_CLOSER]
    assert HintCode.MOVE_CLOSER not in codes(middle)


def test_face_too_large_move_back(detector: FaceDetector) -> None:
    close = analyse(detector, scenes.scene(0.62))
    assert close.measures.face_ratio.verdict is QualityVerdict.TOO_HIGH
    assert codes(close) == [HintCode.MOVE_BACK]


def test_roll_follows_the_rotation(detector: FaceDetector) -> None:
    # The photograph's own head tilt is the zero point: compare with the unrotated frame.
    frame = scenes.scene(0.35)
    base = value(analyse(detector, frame), "roll")
    turned = {
        a: value(analyse(detector, scenes.rotate(frame, a)), "roll") - base
        for a in (-10, -5, 5, 10)
    }
    for angle, change in turned.items():
        assert change == pytest.approx(angle, abs=2.5), angle
    assert abs(turned[10]) > abs(turned[5]) and abs(turned[-10]) > abs(turned[-5])
    assert turned[5] > 0 > turned[-5]


def test_tilted_head_hint(detector: FaceDetector) -> None:
    tilted = analyse(detector, scenes.rotate(scenes.scene(0.35), -10))
    assert tilted.measures.roll.verdict is QualityVerdict.TOO_LOW
    assert codes(tilted) == [HintCode.HEAD_TILTED]
    other_way = analyse(detector, scenes.rotate(scenes.scene(0.35), 14))
    assert other_way.measures.roll.verdict is QualityVerdict.TOO_HIGH


@pytest.mark.parametrize(
    ("cx", "cy", "name", "verdict", "direction"),
    [
        (0.25, 0.5, "offset_x", QualityVerdict.TOO_LOW, Direction.RIGHT),
        (0.75, 0.5, "offset_x", QualityVerdict.TOO_HIGH, Direction.LEFT),
        (0.5, 0.28, "offset_y", QualityVerdict.TOO_LOW, Direction.DOWN),
        (0.5, 0.72, "offset_y", QualityVerdict.TOO_HIGH, Direction.UP),
    ],
)
def test_off_centre_face_centre_face(
    detector: FaceDetector,
    cx: float,
    cy: float,
    name: str,
    verdict: QualityVerdict,
    direction: Direction,
) -> None:
    analysis = analyse(detector, scenes.scene(0.3, cx, cy))
    measure = getattr(analysis.measures, name)
    assert measure.verdict is verdict
    assert measure.value == pytest.approx((cx if name == "offset_x" else cy) - 0.5, abs=0.05)
    (hint,) = analysis.hints
    assert hint.code is HintCode.CENTRE_FACE
    assert hint.directions == (direction,)
    assert direction.value in hint.text


def test_corner_face_two_directions_larger_first(detector: FaceDetector) -> None:
    analysis = analyse(detector, scenes.scene(0.3, 0.22, 0.3))
    (hint,) = analysis.hints
    assert hint.directions == (Direction.RIGHT, Direction.DOWN)


def test_two_faces(detector: FaceDetector) -> None:
    frame = scenes.paste(scenes.scene(0.3, 0.28), 0.3, 0.72)
    analysis = analyse(detector, frame)
    assert analysis.measures.faces.value == 2
    assert analysis.measures.faces.verdict is QualityVerdict.TOO_HIGH
    assert len(analysis.others) == 1
    assert codes(analysis) == [HintCode.TWO_FACES]
    assert analysis.score == 0.0
    assert analysis.measures.brightness.verdict is QualityVerdict.UNDETERMINED


def test_no_face(detector: FaceDetector) -> None:
    analysis = analyse(detector, scenes.background())
    assert analysis.face is None
    assert analysis.eyes is None
    assert analysis.measures.faces.verdict is QualityVerdict.TOO_LOW
    assert codes(analysis) == [HintCode.NO_FACE]
    assert analysis.score == 0.0


def test_face_below_the_detection_floor_is_no_face(detector: FaceDetector) -> None:
    tiny = scenes.scene(0.12)
    assert codes(analyse(detector, tiny)) == [HintCode.NO_FACE]
    # Searching smaller faces (slower) finds it, and asks the traveller to come closer.
    wide = PortraitThresholds(detect_min_face=0.08)
    assert codes(analyse(detector, tiny, wide)) == [HintCode.MOVE_CLOSER]


def test_thresholds_decide_the_verdicts(detector: FaceDetector) -> None:
    frame = scenes.scene(0.35)
    strict = PortraitThresholds(min_inter_eye=140.0)
    analysis = analyse(detector, frame, strict)
    assert analysis.measures.inter_eye.verdict is QualityVerdict.TOO_LOW
    assert codes(analysis) == [HintCode.MOVE_CLOSER]


def test_smaller_frame_same_face_share(detector: FaceDetector) -> None:
    analysis = analyse(detector, scenes.scene(0.4, width=640, height=480))
    assert analysis.one_face
    assert value(analysis, "face_ratio") == pytest.approx(0.4, abs=0.04)
    assert analysis.frame_width == 640
    assert analysis.frame_height == 480
