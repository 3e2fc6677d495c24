"""Frame sources: an OpenCV capture (V4L2 camera, video file, image sequence) or the synthetic
generator, behind the small interface the capture thread reads.

Everything here runs in the camera's capture thread: a source is opened, read and released by
that one thread, since an OpenCV capture object must not be shared between threads.
"""

from __future__ import annotations

import os
import stat
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from drivers.base import DeviceUnavailable, DriverError
from drivers.camera.address import CameraAddress
from drivers.camera.synthetic import SyntheticPattern, SyntheticSpec
from drivers.transports.sysfs import usb_hints

# OpenCV's own warnings go straight to stderr with file paths and backend chatter (a missing
# frame of a sequence, a V4L2 property the camera ignores); the driver reports what matters
# as Notices and log lines, so only OpenCV's errors are let through.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

Image = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Request:
    """The mode the driver asks for, and how file sources are played."""

    width: int
    height: int
    fps: float
    fourcc: str
    loop: bool = True
    read_timeout: float = 2.0


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The mode the source actually delivers (read back after asking)."""

    fourcc: str  # "" where the source has none (image sequences, synthetic frames)
    width: int
    height: int
    fps: float

    def describe(self) -> str:
        return f"{self.fourcc or 'raw'} {self.width}x{self.height} at {self.fps:g} fps"


class SourceEnded(Exception):
    """A video file played without `loop` reached its end."""


class FrameSource(ABC):
    """One opened source of frames; used by one thread only."""

    transport: str  # "v4l2", "file" or "sim"
    paced: bool  # the capture thread paces reads at the requested fps (files, synthetic)
    negotiated: Negotiated
    hints: dict[str, str]  # node, stable_path and USB identity, where known

    @abstractmethod
    def read(self) -> Image | None:
        """The next frame; None when the read failed. May block (a camera waits for a frame)."""

    @abstractmethod
    def release(self) -> None:
        """Give the device or file back; idempotent."""


def open_source(address: CameraAddress, request: Request, cancel: threading.Event) -> FrameSource:
    """Open what `address` names; DeviceUnavailable when it is not there or will not open.

    `cancel` is set when the driver closes: a source that blocks waits on it.
    """
    if address.scheme == "sim":
        return SyntheticSource(address, request, cancel)
    if address.scheme == "v4l2":
        node = f"/dev/video{address.index}"
        return OpenCvSource(address.index, cv2.CAP_V4L2, "v4l2", request, _path_hints(node, ""))
    path = address.path
    if address.is_sequence:
        folder = os.path.dirname(path) or "."
        if not os.path.isdir(folder):
            raise DeviceUnavailable(f"{folder} is not there")
        hints = _path_hints(os.path.join(os.path.realpath(folder), os.path.basename(path)), folder)
        return OpenCvSource(path, cv2.CAP_IMAGES, "file", request, hints)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise DeviceUnavailable(f"{path} is not there ({exc.strerror})") from exc
    if stat.S_ISCHR(mode) and address.scheme == "path":
        return OpenCvSource(path, cv2.CAP_V4L2, "v4l2", request, _path_hints(path, path))
    if stat.S_ISREG(mode):
        return OpenCvSource(path, cv2.CAP_FFMPEG, "file", request, _path_hints(path, path))
    raise DriverError(f"{path} is neither a camera, a video file nor an image sequence")


def _path_hints(node_path: str, stable: str) -> dict[str, str]:
    node = os.path.realpath(node_path)
    hints = {"node": node}
    if stable and os.path.islink(stable):
        hints["stable_path"] = stable
    if node.startswith("/dev/"):
        hints.update(usb_hints(node))
    return hints


def fourcc_text(code: int) -> str:
    """A FOURCC read back from OpenCV as its four characters ("" for none)."""
    if code <= 0:
        return ""
    text = code.to_bytes(4, "little").decode("latin-1").rstrip("\0 ")
    return text if text.isprintable() else f"0x{code:08x}"


class OpenCvSource(FrameSource):
    """A cv2.VideoCapture: V4L2 cameras are asked for the requested mode, files are played."""

    def __init__(
        self,
        target: str | int,
        api: int,
        transport: str,
        request: Request,
        hints: dict[str, str],
    ) -> None:
        self.transport = transport
        self.paced = transport != "v4l2"
        self.hints = hints
        self._loop = request.loop
        self._since_rewind = 0
        capture = cv2.VideoCapture(target, api)
        if not capture.isOpened():
            capture.release()
            raise DeviceUnavailable(f"{target} did not open as a {transport} source")
        self._capture: cv2.VideoCapture | None = capture
        try:
            self.negotiated = self._configure(capture, request)
        except cv2.error as exc:
            self.release()
            raise DeviceUnavailable(
                f"{target} refused its settings ({type(exc).__name__})"
            ) from exc

    def _configure(self, capture: cv2.VideoCapture, request: Request) -> Negotiated:
        # The format first: a UVC camera offers its sizes and rates per format, and defaults
        # to YUYV (slow at high resolutions). set() returning True does not mean the mode was
        # taken, and file sources refuse every set(): what counts is read back below.
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*request.fourcc))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, request.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, request.height)
        capture.set(cv2.CAP_PROP_FPS, request.fps)
        # Fewer driver buffers, fewer stale frames; and a read that cannot hang for ever, where
        # the backend takes these (the driver's own watchdog does not rely on them).
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        capture.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, request.read_timeout * 1000)
        fps = request.fps if self.paced else capture.get(cv2.CAP_PROP_FPS)
        return Negotiated(
            fourcc=fourcc_text(int(capture.get(cv2.CAP_PROP_FOURCC))),
            width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=float(fps),
        )

    def read(self) -> Image | None:
        capture = self._capture
        if capture is None:
            return None
        ok, image = capture.read()
        if ok and image is not None:
            self._since_rewind += 1
            return image  # type: ignore[return-value]  # cv2's MatLike; a uint8 BGR array
        if self.transport != "file":
            return None
        if not self._loop:
            raise SourceEnded
        if self._since_rewind:
            # The end of the file (or of the sequence): play it again from the start, once;
            # a source that fails right after a rewind is failing, not ending.
            self._since_rewind = 0
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            return self.read()
        return None

    def release(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()


class SyntheticSource(FrameSource):
    """Frames from `drivers.camera.synthetic`, with the failures its URL asks for."""

    transport = "sim"
    paced = True

    def __init__(self, address: CameraAddress, request: Request, cancel: threading.Event) -> None:
        try:
            spec = SyntheticSpec.from_params(address.params)
        except ValueError as exc:
            raise DriverError(f"sim camera: {exc}") from None
        width, height = spec.size or (request.width, request.height)
        overlay = None
        if spec.paste:
            read = cv2.imread(spec.paste, cv2.IMREAD_COLOR)
            if read is None:
                raise DriverError("sim camera: paste names no readable image file")
            overlay = np.asarray(read, np.uint8)
        try:
            self._pattern = SyntheticPattern(width, height, spec.seed, overlay, spec.paste_at)
        except ValueError as exc:
            raise DriverError(f"sim camera: {exc}") from None
        self._spec = spec
        self._cancel = cancel
        self._index = 0
        self.negotiated = Negotiated("", width, height, request.fps)
        self.hints = {"node": "sim://camera"}

    def read(self) -> Image | None:
        index, spec = self._index, self._spec
        if 0 <= spec.stall_at <= index:
            self._cancel.wait()  # a camera that stopped sending: the read returns at close
            return None
        if 0 <= spec.fail_at <= index:
            return None
        self._index += 1
        if 0 <= spec.freeze_at <= index:
            index = spec.freeze_at
        return self._pattern.frame(index)

    def release(self) -> None:
        return None
