"""The framer contract: a pure function of the bytes received, no I/O and no clock.

A framer is fed whatever chunks the transport delivers (one byte, half a frame, two frames and
some noise) and returns the complete frames it found. Message ends that are defined by silence
(a line reader with no trailer) are closed by `idle()`, which the driver calls when its idle
timer fires: the framer itself never looks at a clock. Every frame keeps the exact bytes it was
made of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

# No device message we know is longer than this; a buffer past it is a flood or a lost trailer.
DEFAULT_MAX_FRAME = 8192


class FrameKind(StrEnum):
    DATA = "data"  # a read: MRZ lines or a barcode payload
    REPLY = "reply"  # the device's answer to a host command
    ERROR = "error"  # bytes that could not be framed: noise, bad checksum, overflow


@dataclass(frozen=True, slots=True)
class Frame:
    """One message found in the byte stream."""

    kind: FrameKind
    raw: bytes  # every byte this frame was made of, framing included
    payload: bytes = b""  # the message without framing
    fields: Mapping[str, str] = field(default_factory=dict)  # e.g. symbology, aim, status
    error: str = ""  # for ERROR frames: a short code ("noise", "bad_bcc", "overflow", ...)
    detail: str = ""  # for ERROR frames: what was wrong, never quoting the bytes


def error_frame(raw: bytes | bytearray, code: str, detail: str) -> Frame:
    return Frame(FrameKind.ERROR, bytes(raw), error=code, detail=detail)


class Framer(Protocol):
    """Bytes in, frames out."""

    def feed(self, data: bytes) -> list[Frame]:
        """Frames completed by `data` (possibly none)."""
        ...

    def idle(self) -> list[Frame]:
        """The line went quiet: close and return whatever ends by silence."""
        ...

    def pending(self) -> bool:
        """Whether bytes are buffered, so the driver should arm its idle timer."""
        ...

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect)."""
        ...


class BufferedFramer:
    """A framer keeping one byte buffer: silence hands what is left to `leftover()`."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def pending(self) -> bool:
        return bool(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def idle(self) -> list[Frame]:
        if not self._buf:
            return []
        raw = bytes(self._buf)
        self._buf.clear()
        return [self.leftover(raw)]

    def leftover(self, raw: bytes) -> Frame:
        """The frame for bytes that silence (or a new start) left unfinished."""
        raise NotImplementedError
