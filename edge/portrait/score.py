"""The frame score: one number in 0..1 from all measures, by a fixed rule (TR-03121 §4.4.3).

Every measure gets a quality q in 0..1: 1 within its limits, falling linearly to 0 at a
tolerance beyond the limit, 0.75 when it could not be measured. Within its limits sharpness
still counts (0.9 at the limit, 1 at twice the limit), so that the sharper of two good frames
wins. The score is the product of all q: one measure far out of range sinks the frame, several
slightly out pull it down together. Not exactly one face: 0.
"""

from __future__ import annotations

from edge.portrait.measures import bounds
from edge.portrait.results import Measures, QualityVerdict
from edge.portrait.thresholds import PortraitThresholds

UNDETERMINED_QUALITY = 0.75
SHARP_IN_RANGE = 0.9  # quality of a frame exactly at the sharpness limit


def _tolerances(t: PortraitThresholds) -> dict[str, tuple[float, float]]:
    """(below, above): how far beyond the low / high limit a measure's quality reaches 0."""
    return {
        "face_ratio": (t.min_face_ratio / 2, t.max_face_ratio / 2),
        "face_px": (t.min_face_px / 2, 0.0),
        "inter_eye": (t.min_inter_eye / 2, 0.0),
        "offset_x": (t.max_offset_x, t.max_offset_x),
        "offset_y": (t.max_offset_y, t.max_offset_y),
        "roll": (t.max_roll, t.max_roll),
        "brightness": (t.min_brightness / 2, max(1.0, 255.0 - t.max_brightness)),
        "contrast": (t.min_contrast / 2, 0.0),
        "sharpness": (t.min_sharpness / 2, 0.0),
        "underexposed": (0.0, t.max_underexposed),
        "overexposed": (0.0, t.max_overexposed),
    }


def quality(
    value: float, low: float | None, high: float | None, below: float, above: float
) -> float:
    """1 within [low, high], falling linearly to 0 at `below` under low / `above` over high."""
    if low is not None and value < low:
        return max(0.0, 1.0 - (low - value) / below) if below > 0 else 0.0
    if high is not None and value > high:
        return max(0.0, 1.0 - (value - high) / above) if above > 0 else 0.0
    return 1.0


def frame_score(measures: Measures, thresholds: PortraitThresholds) -> float:
    """The score of one analysed frame, rounded to 4 decimals."""
    if measures.faces.verdict is not QualityVerdict.OK:
        return 0.0
    limits = bounds(thresholds)
    tolerances = _tolerances(thresholds)
    score = 1.0
    for name, measure in measures.items():
        if name == "faces":
            continue
        if measure.value is None:
            score *= UNDETERMINED_QUALITY
            continue
        low, high = limits[name]
        score *= quality(measure.value, low, high, *tolerances[name])
        if name == "sharpness" and low is not None and measure.value >= low:
            extra = min(1.0, (measure.value - low) / low)
            score *= SHARP_IN_RANGE + (1 - SHARP_IN_RANGE) * extra
    return round(score, 4)
