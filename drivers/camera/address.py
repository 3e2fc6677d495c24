"""Where a camera's frames come from, as its URL names it.

- `/dev/v4l/by-id/usb-…-video-index0` or `/dev/videoN`: a V4L2 camera (a character device);
- `v4l2://N`: the V4L2 camera with index N (`/dev/videoN`);
- a path to a regular file, or `file:///path`: a video file read with OpenCV's file backend;
- a path whose file name holds a printf field (`/srv/cam/frame%04d.png`): an image sequence
  (OpenCV `CAP_IMAGES`); the directory holding it is the device that can come and go;
- `sim://camera?size=320x240&seed=1`: the synthetic generator of `drivers.camera.synthetic`.

Which of the first kinds a path is gets decided when it is opened (a device path may not
exist yet); parsing does no I/O.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl, unquote, urlsplit

# printf-style frame number in an image-sequence file name: %d, %4d, %04d.
_PATTERN = re.compile(r"%0?\d*d")
# What a sim:// camera takes (see drivers.camera.synthetic.SyntheticSpec).
SIM_PARAMS = frozenset({"size", "seed", "paste", "paste_at", "freeze_at", "fail_at", "stall_at"})


@dataclass(frozen=True, slots=True)
class CameraAddress:
    """A parsed camera URL."""

    scheme: str  # "path" (decided at open), "file", "v4l2" (by index) or "sim"
    path: str = ""
    index: int = -1
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_sequence(self) -> bool:
        """Whether the path names an image sequence (a printf field in its file name)."""
        return bool(_PATTERN.search(os.path.basename(self.path)))

    @property
    def presence(self) -> str | None:
        """The path whose disappearance means the camera was unplugged, if any."""
        if self.scheme == "v4l2":
            return f"/dev/video{self.index}"
        if not self.path:
            return None
        return os.path.dirname(self.path) if self.is_sequence else self.path


def parse_address(url: str) -> CameraAddress:
    """The source `url` names; ValueError saying what was expected."""
    if url.startswith("/"):
        return CameraAddress("path", path=url)
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ValueError("expected file:///absolute/path")
        return CameraAddress("file", path=path)
    if parts.scheme == "v4l2":
        where = parts.netloc + parts.path
        if not where.isdigit():
            raise ValueError("expected v4l2://N, the index of /dev/videoN")
        return CameraAddress("v4l2", index=int(where))
    if parts.scheme == "sim":
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(params) - SIM_PARAMS)
        if unknown:
            known = ", ".join(sorted(SIM_PARAMS))
            raise ValueError(f"unknown sim camera parameter {unknown[0]!r} (known: {known})")
        return CameraAddress("sim", params=MappingProxyType(params))
    raise ValueError(
        "expected a device or file path, file:///path, v4l2://N or sim://camera?size=WxH"
    )
