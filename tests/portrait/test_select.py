"""Choosing the capture's portrait: score, ties and hard failures."""

from __future__ import annotations

import msgspec

from edge.portrait.analyse import analyse_frame
from edge.portrait.detect import FaceDetector
from edge.portrait.results import FrameAnalysis
from edge.portrait.select import acceptable, best_frame
from edge.portrait.thresholds import PortraitThresholds
from tests.portrait import scenes


def run(detector: FaceDetector, frames: list[scenes.Image]) -> list[FrameAnalysis]:
    thresholds = PortraitThresholds()
    return [analyse_frame(frame, detector, thresholds) for frame in frames]


def test_best_frame_is_the_sharp_lit_centred_one(detector: FaceDetector) -> None:
    good = scenes.scene(0.35)
    frames = [
        scenes.blur(good, 2.0),
        scenes.darken(good, 0.3),
        scenes.scene(0.3, 0.25, 0.5),
        scenes.rotate(good, -10),
        good,
        scenes.scene(0.22),
        scenes.paste(scenes.scene(0.3, 0.28), 0.3, 0.72),
        scenes.background(),
        scenes.blur(scenes.darken(good, 0.5), 1.5),
    ]
    analyses = run(detector, frames)
    assert best_frame(analyses) == 4
    scores = [a.score for a in analyses]
    assert scores[4] == max(scores)
    assert all(score < scores[4] for i, score in enumerate(scores) if i != 4)


def test_equal_scores_the_sharper_wins(detector: FaceDetector) -> None:
    good = scenes.scene(0.35)
    sharp, slightly_soft = run(detector, [good, scenes.blur(good, 0.6)])
    assert sharp.score == slightly_soft.score  # both well inside every limit
    assert sharp.measures.sharpness.value is not None
    assert slightly_soft.measures.sharpness.value is not None
    assert sharp.measures.sharpness.value > slightly_soft.measures.sharpness.value
    assert best_frame([sharp, slightly_soft]) == 0
    assert best_frame([slightly_soft, sharp]) == 1


def test_identical_frames_the_later_wins(detector: FaceDetector) -> None:
    (analysis,) = run(detector, [scenes.scene(0.35)])
    assert best_frame([analysis, analysis, analysis]) == 2


def test_hard_failures_never_win_over_one_face(detector: FaceDetector) -> None:
    poor = scenes.blur(scenes.darken(scenes.scene(0.35, 0.2, 0.3), 0.25), 4.0)
    analyses = run(
        detector, [scenes.background(), poor, scenes.paste(scenes.scene(0.3, 0.28), 0.3, 0.72)]
    )
    assert analyses[1].one_face
    assert analyses[1].score == 0.0  # as low as the hard failures
    assert best_frame(analyses) == 1
    assert not acceptable(analyses[1], PortraitThresholds())


def test_only_hard_failures_and_nothing(detector: FaceDetector) -> None:
    analyses = run(detector, [scenes.background(), scenes.background(seed=3)])
    assert best_frame(analyses) == 1  # the later of equals; the caller refuses it
    assert not any(acceptable(a, PortraitThresholds()) for a in analyses)
    assert best_frame([]) is None


def test_acceptable_follows_min_score(detector: FaceDetector) -> None:
    (soft,) = run(detector, [scenes.blur(scenes.scene(0.35), 1.5)])
    assert 0 < soft.score < 1
    assert acceptable(soft, PortraitThresholds(min_score=soft.score))
    assert not acceptable(soft, PortraitThresholds(min_score=min(1.0, soft.score + 0.01)))


def test_analysis_round_trips_as_json(detector: FaceDetector) -> None:
    (analysis,) = run(detector, [scenes.scene(0.3, 0.25, 0.5)])
    data = msgspec.json.encode(analysis)
    assert msgspec.json.decode(data, type=FrameAnalysis) == analysis
    plain = msgspec.json.decode(data)
    assert plain["measures"]["offset_x"]["verdict"] == "too_low"
    assert plain["hints"][0]["code"] == "centre_face"
    assert plain["hints"][0]["directions"] == ["right"]
    assert set(plain["eyes"]) == {"left", "right", "estimated"}
    assert plain["face"].keys() == {"x", "y", "width", "height"}
