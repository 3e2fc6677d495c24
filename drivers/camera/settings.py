"""The camera driver's options: declared once, checked before anything opens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drivers.camera.code_checks import ReadRules
from drivers.camera.codes import BACKENDS, ZBAR_FORMATS, ZXING_FORMATS
from drivers.camera.sources import Request
from drivers.options import Option, resolve

OPTIONS: tuple[Option, ...] = (
    Option("width", 1280, "requested frame width, pixels", minimum=16, maximum=8192),
    Option("height", 720, "requested frame height, pixels", minimum=16, maximum=8192),
    Option("fps", 30.0, "requested frame rate; file and synthetic sources are played at it",
           minimum=0.5, maximum=240.0),
    Option("fourcc", "MJPG", "requested pixel format (four characters)"),
    Option("loop", True, "play a video file or image sequence again from the start at its end"),
    Option("read_timeout", 2.0, "seconds of failing reads (or waiting for the first frame) "
           "before the camera counts as dead", minimum=0.1, maximum=60.0),
    Option("stall_frames", 30, "frame periods without any read returning before the camera "
           "counts as stalled", minimum=2, maximum=100_000),
    Option("frozen_after", 5.0, "seconds of the very same picture before the feed counts as "
           "frozen (0: never)", minimum=0.0, maximum=86_400.0),
    Option("barcodes", [], "barcode formats to look for in the frames (empty: no scanning)"),
    Option("barcode_backend", "zxing", "barcode decoder", choices=BACKENDS),
    Option("scan_fps", 10.0, "frames per second handed to the barcode scanner",
           minimum=0.1, maximum=240.0),
    Option("barcode_hold", 2.0, "seconds a code must be out of view before it is read again",
           minimum=0.0, maximum=3600.0),
    Option("barcode_itf_check", False, "ITF reads must end with a valid GS1 mod-10 check digit"),
    Option("barcode_min_length", {}, "fewest payload characters per format, e.g. {itf = 14}"),
)  # fmt: skip

# The stall limit never drops below this, however high the frame rate.
MIN_STALL_S = 0.5


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """Resolved, checked options."""

    request: Request
    stall_frames: int
    frozen_after: float
    barcodes: tuple[str, ...]
    barcode_backend: str
    scan_fps: float
    barcode_hold: float
    read_rules: ReadRules

    @property
    def stall_after(self) -> float:
        """Seconds without a returning read before the feed counts as stalled."""
        return max(MIN_STALL_S, self.stall_frames / self.request.fps)


def camera_settings(options: Mapping[str, Any]) -> CameraSettings:
    """The settings `options` give; ValueError naming the first bad option."""
    s = resolve(OPTIONS, options)
    fourcc = s["fourcc"]
    if len(fourcc) != 4 or not fourcc.isascii() or not fourcc.isprintable():
        raise ValueError(f"fourcc: expected four printable ASCII characters, got {fourcc!r}")
    barcodes = s["barcodes"]
    if not all(isinstance(name, str) for name in barcodes):
        raise ValueError(f"barcodes: expected a list of format names, got {barcodes!r}")
    readable = ZXING_FORMATS if s["barcode_backend"] == "zxing" else ZBAR_FORMATS
    for name in barcodes:
        if name not in readable:
            raise ValueError(
                f"barcodes: the {s['barcode_backend']} decoder cannot read {name!r}; "
                f"it reads: {', '.join(sorted(readable))}"
            )
    try:
        rules = ReadRules(dict(s["barcode_min_length"]), s["barcode_itf_check"])
    except ValueError as exc:
        raise ValueError(f"barcode_{exc}") from None
    return CameraSettings(
        request=Request(
            width=s["width"],
            height=s["height"],
            fps=s["fps"],
            fourcc=fourcc,
            loop=s["loop"],
            read_timeout=s["read_timeout"],
        ),
        stall_frames=s["stall_frames"],
        frozen_after=s["frozen_after"],
        barcodes=tuple(dict.fromkeys(barcodes)),
        barcode_backend=s["barcode_backend"],
        scan_fps=s["scan_fps"],
        barcode_hold=s["barcode_hold"],
        read_rules=rules,
    )
