"""Choosing the portrait among the frames analysed during one capture."""

from __future__ import annotations

from collections.abc import Sequence

from edge.portrait.results import FrameAnalysis
from edge.portrait.thresholds import PortraitThresholds


def rank(analysis: FrameAnalysis) -> tuple[bool, float, float]:
    """How good a frame is as the portrait: exactly one face, then the score, then sharpness."""
    sharpness = analysis.measures.sharpness.value
    return analysis.one_face, analysis.score, -1.0 if sharpness is None else sharpness


def _rank(item: tuple[int, FrameAnalysis]) -> tuple[bool, float, float, int]:
    index, analysis = item
    return (*rank(analysis), index)


def best_frame(analyses: Sequence[FrameAnalysis]) -> int | None:
    """Index of the best frame (None for none): highest score, then the sharper, then the later.

    A frame without exactly one face never wins over a frame with exactly one.
    """
    if not analyses:
        return None
    return max(enumerate(analyses), key=_rank)[0]


def acceptable(analysis: FrameAnalysis, thresholds: PortraitThresholds) -> bool:
    """True when the frame may become the portrait: exactly one face and score >= min_score."""
    return analysis.one_face and analysis.score >= thresholds.min_score
