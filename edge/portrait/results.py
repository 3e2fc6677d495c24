"""What the portrait analysis returns: JSON-ready structs for events and the portrait record.

No image data lives here: positions are in pixels of the analysed frame, values are numbers.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class QualityVerdict(StrEnum):
    """How one measure compares with its thresholds."""

    OK = "ok"
    TOO_LOW = "too_low"
    TOO_HIGH = "too_high"
    UNDETERMINED = "undetermined"


class HintCode(StrEnum):
    """Stable machine codes of the hints for the officer (texts may change, codes do not)."""

    NO_FACE = "no_face"
    TWO_FACES = "two_faces"
    MOVE_BACK = "move_back"
    MOVE_CLOSER = "move_closer"
    CENTRE_FACE = "centre_face"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    LOW_CONTRAST = "low_contrast"
    HEAD_TILTED = "head_tilted"
    HOLD_STILL = "hold_still"


class Direction(StrEnum):
    """Where the face has to move in the picture as the officer sees it (not mirrored)."""

    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"


class Box(msgspec.Struct, frozen=True, gc=False):
    """An axis-aligned rectangle in frame pixels."""

    x: int
    y: int
    width: int
    height: int

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


class Point(msgspec.Struct, frozen=True, gc=False):
    """A position in frame pixels."""

    x: float
    y: float


class Eyes(msgspec.Struct, frozen=True, gc=False):
    """Eye centres; `left` is the one on the left of the picture (the person's right eye).

    `estimated` is true when the eye detector found no pair and the positions were derived from
    the face box (then inter-eye distance and roll are undetermined).
    """

    left: Point
    right: Point
    estimated: bool = False


class Measure(msgspec.Struct, frozen=True, gc=False):
    """One measured value (None when it could not be measured) and its verdict."""

    value: float | None
    verdict: QualityVerdict


class Measures(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Every per-frame quality measure. Units: see each field."""

    faces: Measure  # faces found; exactly one is required
    face_ratio: Measure  # face box height / frame height
    face_px: Measure  # face box height, pixels
    inter_eye: Measure  # distance between the eye centres, pixels
    offset_x: Measure  # (face centre - frame centre) / frame width; positive: right
    offset_y: Measure  # (face centre - frame centre) / frame height; positive: down
    roll: Measure  # degrees of the eye line; positive: counter-clockwise in the picture
    brightness: Measure  # mean luminance 0-255 of the inner face region
    contrast: Measure  # standard deviation of that luminance
    sharpness: Measure  # 1000 x var(Laplacian) / var(luminance), face resampled to 128 px
    underexposed: Measure  # share of face pixels at 0-5
    overexposed: Measure  # share of face pixels at 250-255

    def items(self) -> tuple[tuple[str, Measure], ...]:
        """(name, measure) pairs in field order."""
        return tuple((name, getattr(self, name)) for name in self.__struct_fields__)


class Hint(msgspec.Struct, frozen=True, gc=False):
    """One instruction for the officer: a stable code, short English text, optional directions."""

    code: HintCode
    text: str
    directions: tuple[Direction, ...] = ()


class FrameAnalysis(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The result for one frame: measures with verdicts, score, geometry and hints.

    `face` is the largest face found (None without any), `others` the remaining faces; with
    other than exactly one face the quality measures are undetermined and the score is 0.
    """

    frame_width: int
    frame_height: int
    face: Box | None
    others: tuple[Box, ...]
    eyes: Eyes | None
    measures: Measures
    score: float
    hints: tuple[Hint, ...]

    @property
    def one_face(self) -> bool:
        return self.face is not None and not self.others
