"""Fixtures of the portrait tests: one detector for the session, default thresholds."""

from __future__ import annotations

import pytest

from edge.portrait.detect import FaceDetector
from edge.portrait.thresholds import PortraitThresholds


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector.load()


@pytest.fixture
def thresholds() -> PortraitThresholds:
    return PortraitThresholds()
