"""A simulated camera for tests and the demo, read by the real driver through OpenCV.

The frames (given, or the synthetic picture of `drivers.camera.synthetic`) are written as a
PNG sequence or an MJPG AVI, and a stable symlink points at them the way
`/dev/v4l/by-id/usb-…-video-index0` points at `/dev/videoN`. The frame size is the
simulator's own: a driver that asks for another size reports the one it got.

Controls:
- `unplug()`: the link disappears;
- `replug()`: new frames in a new place behind the same link (a new node, as a new
  `/dev/videoN` after a real replug);
- `freeze()`: every frame becomes the same picture; `fail()`: the frames go, the link stays,
  and every read returns (False, None); `resume()`: moving frames again, in place.

An image sequence is read file by file, so `freeze()`, `fail()` and `resume()` take effect at
once; a video file is read through a handle opened once, so they need the `images` mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Self

import cv2

from drivers.camera.synthetic import Image, SyntheticPattern

PATTERN = "frame%04d.png"
VIDEO = "camera.avi"
# Fast PNG writes: the files live for a test or a demo only.
PNG_COMPRESSION = 1


class CameraSim:
    """One simulated camera behind the stable link `link`."""

    def __init__(
        self,
        link: Path,
        *,
        mode: Literal["images", "video"] = "images",
        size: tuple[int, int] = (320, 240),
        fps: float = 30.0,
        count: int = 24,
        frames: Sequence[Image] | None = None,
        seed: int = 0,
        overlay: Image | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("count: expected at least one frame")
        self.link = link
        self.mode = mode
        self.size = size
        self.fps = fps
        self.count = len(frames) if frames is not None else count
        self.generation = 0  # how many times the camera was plugged in
        self.plugged = False
        self._frames = list(frames) if frames is not None else None
        self._pattern = SyntheticPattern(size[0], size[1], seed, overlay)
        self._store = link.with_name(f".{link.name}.media")
        self._target: Path | None = None

    # -- the host's view -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What the driver opens: the link (video) or a frame pattern under it (images)."""
        return str(self.link) if self.mode == "video" else str(self.link / PATTERN)

    def options(self) -> dict[str, object]:
        """The driver options that match this camera (the requested size is the test's)."""
        return {"fps": self.fps}

    def frame(self, index: int) -> Image:
        """Picture number `index` of the current generation's sequence."""
        if self._frames is not None:
            return self._frames[index % len(self._frames)]
        return self._pattern.frame((self.generation - 1) * self.count + index)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        await self.replug()
        return self.url

    async def stop(self) -> None:
        await self.unplug()
        await asyncio.to_thread(shutil.rmtree, self._store, True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def unplug(self) -> None:
        """Pull the cable: the stable link disappears."""
        self.plugged = False
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()

    async def replug(self) -> None:
        """Plug in (again): new frames in a new place, behind the same link."""
        self.generation += 1
        target = self._store / f"gen{self.generation}"
        await asyncio.to_thread(self._write_all, target)
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(target / VIDEO if self.mode == "video" else target)
        tmp.replace(self.link)
        old, self._target = self._target, target
        self.plugged = True
        if old is not None:
            await asyncio.to_thread(shutil.rmtree, old, True)

    # -- controls (image sequences) --------------------------------------------------------

    async def freeze(self) -> None:
        """Every frame becomes the last one: the camera shows the same picture for ever."""
        last = self.frame(self.count - 1)
        await asyncio.to_thread(self._rewrite, lambda _: last)

    async def resume(self) -> None:
        """Moving frames again, in place."""
        await asyncio.to_thread(self._rewrite, self.frame)

    async def fail(self) -> None:
        """The frames go while the link stays: every read returns (False, None)."""
        folder = self._live_folder()
        await asyncio.to_thread(self._remove_frames, folder)

    # -- writing ---------------------------------------------------------------------------

    def _live_folder(self) -> Path:
        if self.mode != "images":
            raise RuntimeError("freeze, fail and resume act on an image-sequence camera")
        if self._target is None:
            raise RuntimeError("the camera was never plugged in")
        return self._target

    def _write_all(self, target: Path) -> None:
        target.mkdir(parents=True)
        if self.mode == "images":
            for index in range(self.count):
                _write_png(target / (PATTERN % index), self.frame(index))
            return
        writer = cv2.VideoWriter(
            str(target / VIDEO), cv2.VideoWriter.fourcc(*"MJPG"), self.fps, self.size
        )
        if not writer.isOpened():
            raise RuntimeError("OpenCV cannot write an MJPG AVI here")
        try:
            for index in range(self.count):
                writer.write(self.frame(index))
        finally:
            writer.release()

    def _rewrite(self, picture: Callable[[int], Image]) -> None:
        folder = self._live_folder()
        for index in range(self.count):
            _write_png(folder / (PATTERN % index), picture(index))

    def _remove_frames(self, folder: Path) -> None:
        for index in range(self.count):
            with contextlib.suppress(FileNotFoundError):
                (folder / (PATTERN % index)).unlink()


def _write_png(path: Path, image: Image) -> None:
    """Write `path` atomically: a reader sees the old picture or the new one, never half."""
    tmp = path.with_name(f".new-{path.name}")  # the extension picks the encoder
    if not cv2.imwrite(str(tmp), image, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION]):
        raise RuntimeError("OpenCV cannot write a PNG here")
    os.replace(tmp, path)
