"""The `[portrait]` settings: quality thresholds with their sources, and capture-session settings.

Sources named below:

- ISO/IEC 19794-5:2005 (§8 full frontal, §9 token frontal), the face-image format of ICAO Doc 9303
  eMRTDs: at least 90 pixels between the eye centres for a full frontal image.
- BSI TR-03121-3 Vol. 1 v7.0 "Border Control" (§4.3.1, §4.4.2, §4.6): at least 120 pixels between
  the eyes at a border-control counter, roll within ±8°, a face JPEG of at most 375 kB.

Every other value is our own engineering choice and says so; all of them are settings.
"""

from __future__ import annotations

from typing import Literal

import msgspec


def _bad(key: str, message: str) -> ValueError:
    """A validation error naming its key, in the form the config loader reports (`<key> ...`)."""
    return ValueError(f"<{key}> {message}")


class PortraitThresholds(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Quality thresholds, detection tuning and capture-session settings for portraits."""

    # -- quality thresholds -------------------------------------------------------------------
    # Face box height / frame height. Own choice: below a quarter of a 720-line frame the eyes
    # are fewer than ~80 px apart; above half of it the 3:4 portrait around the head no longer
    # fits the frame (a fifth of it would be padding) and crown or chin get cut.
    min_face_ratio: float = 0.25
    max_face_ratio: float = 0.5
    # Face box height in pixels. Derived from ISO/IEC 19794-5's 90 px between the eyes: in the
    # Haar face box the eyes sit about 0.46 box heights apart (90 px ≈ 197 px box). Set 10 %
    # below that, so it never contradicts a measured inter-eye distance; it decides the size
    # alone when the eyes are not found.
    min_face_px: int = 180
    # Pixels between the eye centres. ISO/IEC 19794-5 full frontal (ICAO 9303 portraits): 90.
    # BSI TR-03121 asks 120 at a border-control counter: set 120 for a BSI profile.
    min_inter_eye: float = 90.0
    # Face centre offset from the frame centre, as a fraction of frame width / height. Own
    # choice: the portrait is re-centred when cropped (TR-03121's 0.45-0.55 applies to the crop);
    # within ±0.15 the crop stays inside a 16:9 frame and away from lens distortion at the edges.
    max_offset_x: float = 0.15
    max_offset_y: float = 0.15
    # Degrees of in-plane head rotation measured on the eye line. BSI TR-03121 §4.4.2: ±8°.
    max_roll: float = 8.0
    # Mean luminance (0-255) of the inner face region. Own choice, wide on purpose so that dark
    # and light skin under counter lighting both pass; exposure is judged with clipping below.
    min_brightness: float = 60.0
    max_brightness: float = 200.0
    # Standard deviation of the luminance of the inner face region. Own choice: below 15 the
    # face looks flat (haze, backlight, a dirty lens); a well-lit face has 35-50.
    min_contrast: float = 15.0
    # Sharpness: 1000 x variance of the Laplacian / variance of the luminance on the inner face
    # region resampled to 128 px wide, so neither face size nor exposure changes it. Own choice,
    # calibrated on a public-domain portrait with a 260 px face: ~55 as taken, ~28 after a
    # Gaussian blur of 1 px, ~18 at 1.5 px (visibly soft), ~11 at 2 px.
    min_sharpness: float = 20.0
    # Share of inner-face pixels clipped at 0-5 / 250-255. Own choice: 5 % clipped is visible.
    max_underexposed: float = 0.05
    max_overexposed: float = 0.05

    # -- detection tuning (speed against the smallest face seen) --------------------------------
    # Longest side of the grey image the face cascade scans. Own choice: Haar cost is set by the
    # smallest face searched relative to the frame, 480 px keeps the 20 px cascade window far
    # below the smallest face.
    detect_size: int = 480
    # Smallest face searched, as a fraction of frame height. Own choice: a smaller face is
    # about a metre or more from a counter webcam and reported as no face. Detection time grows
    # with the square of 1 / detect_min_face (0.15 costs ~1.8 times as much as 0.2).
    detect_min_face: float = 0.2

    # -- capture session ------------------------------------------------------------------------
    # Seconds of live video analysed per portrait capture.
    duration: float = 4.0
    # Frames analysed per second within a capture (others are skipped).
    analysis_fps: float = 8.0
    # JPEG quality of the stored portrait (1-100) and its size cap (BSI TR-03121 §4.6: 375 kB).
    jpeg_quality: int = 90
    max_jpeg_bytes: int = 375_000
    # Output portrait size: 3:4 (ISO/IEC 19794-5 token geometry, see crop.py). 480 px wide puts
    # 120 px between the eyes (the BSI minimum) in the stored portrait.
    width: int = 480
    height: int = 640
    # How the crop is filled where it reaches beyond the frame (always flagged): "replicate"
    # repeats the edge pixels, "neutral" fills light grey (ICAO's plain light background).
    pad: Literal["replicate", "neutral"] = "replicate"
    # Lowest frame score (0-1) a capture accepts as its portrait.
    min_score: float = 0.5

    def __post_init__(self) -> None:
        for low, high in (
            ("min_face_ratio", "max_face_ratio"),
            ("min_brightness", "max_brightness"),
        ):
            if not 0 < getattr(self, low) < getattr(self, high):
                raise _bad(low, f"expected 0 < {low} < {high}")
        if self.max_face_ratio > 1:
            raise _bad("max_face_ratio", "expected max_face_ratio at most 1 (the frame height)")
        if self.max_brightness > 255:
            raise _bad("max_brightness", "expected max_brightness at most 255")
        positive = (
            "min_face_px",
            "min_inter_eye",
            "max_offset_x",
            "max_offset_y",
            "max_roll",
            "min_contrast",
            "min_sharpness",
            "duration",
            "analysis_fps",
        )
        for key in positive:
            if getattr(self, key) <= 0:
                raise _bad(key, f"expected {key} above zero")
        for key in ("max_underexposed", "max_overexposed", "min_score"):
            if not 0 <= getattr(self, key) <= 1:
                raise _bad(key, f"expected {key} between 0 and 1")
        if not 120 <= self.detect_size <= 1920:
            raise _bad("detect_size", "expected detect_size between 120 and 1920 pixels")
        if not 0.05 <= self.detect_min_face <= self.min_face_ratio:
            raise _bad("detect_min_face", "expected 0.05 <= detect_min_face <= min_face_ratio")
        if not 1 <= self.jpeg_quality <= 100:
            raise _bad("jpeg_quality", "expected jpeg_quality between 1 and 100")
        if self.max_jpeg_bytes < 10_000:
            raise _bad("max_jpeg_bytes", "expected max_jpeg_bytes of at least 10000")
        if not 120 <= self.width <= 2400 or not 160 <= self.height <= 3200:
            raise _bad("width", "expected width 120-2400 and height 160-3200 pixels")
        if abs(self.width * 4 - self.height * 3) > 4:
            raise _bad("height", "expected a 3:4 portrait (height = width x 4 / 3)")
