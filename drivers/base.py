"""The driver contract: device kinds, health, identity, captures and the Driver base class.

DriverError
├── DeviceUnavailable   the device is absent, unplugged or cannot be opened (retry later)
├── ProtocolError       the device sent bytes the framer or driver cannot accept
└── NotSupported        the device does not support the requested command

A driver never imports `edge` or `agent`: it hands `Capture` and `Notice` events to whoever
iterates `events()`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar


class DriverError(Exception):
    """Root of every driver error."""


class DeviceUnavailable(DriverError):
    """The device is absent, unplugged or refused to open."""


class ProtocolError(DriverError):
    """The device sent something the driver cannot accept; the device may still be usable."""


class NotSupported(DriverError):
    """The device does not support this command."""


class DeviceKind(StrEnum):
    MRZ_READER = "mrz_reader"
    BARCODE = "barcode"
    CAMERA = "camera"
    CHIP_READER = "chip_reader"


class HealthState(StrEnum):
    ABSENT = "absent"
    OPENING = "opening"
    READY = "ready"
    DEGRADED = "degraded"
    FAILED = "failed"


class CaptureKind(StrEnum):
    """What a capture carries; the pipeline's normalizers pick their parser from it."""

    DOCUMENT = "document"  # MRZ text lines
    BARCODE = "barcode"  # barcode payload bytes with a symbology
    PORTRAIT = "portrait"
    CHIP = "chip"


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What is known of a device; empty strings where unknown."""

    kind: DeviceKind
    driver: str
    transport: str
    vendor_id: str = ""
    product_id: str = ""
    serial: str = ""
    manufacturer: str = ""
    product: str = ""
    firmware: str = ""
    node: str = ""
    stable_path: str = ""

    def as_dict(self) -> dict[str, str]:
        """The non-empty attributes, for records and the API."""
        return {f.name: str(v) for f in fields(self) if (v := getattr(self, f.name))}


@dataclass(frozen=True, slots=True)
class Capture:
    """One read from a device: the exact bytes received plus what the framer made of them."""

    kind: CaptureKind
    raw: bytes
    captured_at_ms: int
    text: str | None = None  # MRZ lines joined by "\n", when the capture is text
    payload: bytes | None = None  # the message without framing, when `raw` carries framing
    symbology: str | None = None  # barcodes: e.g. "pdf417", "qr", "aztec", "datamatrix"
    images: tuple[tuple[str, bytes], ...] = ()  # (media type, encoded image)
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something wrong the device sent that did not stop it: bad checksum, noise, overflow.

    `message` never quotes the device's bytes (they may carry personal data); `raw` keeps them
    for audit and is never logged.
    """

    code: str  # short, stable: "bad_bcc", "noise", "overflow", "truncated", "nak", ...
    message: str
    raw: bytes = b""


Event = Capture | Notice


@dataclass(slots=True)
class Health:
    """A device's state and counters; times are monotonic seconds."""

    state: HealthState = HealthState.ABSENT
    since: float = field(default_factory=time.monotonic)
    last_event_at: float | None = None
    reads: int = 0
    errors: int = 0
    reconnects: int = 0
    detail: str = ""


def now_ms() -> int:
    """Wall-clock UTC milliseconds, the capture timestamp."""
    return time.time_ns() // 1_000_000


class Driver(ABC):
    """Base of every device driver: lifecycle and health here, the protocol in the subclass.

    `open()` and `close()` are idempotent; `events()` has a single consumer and ends
    (or raises DriverError) when the device goes away.
    """

    name: ClassVar[str]
    kind: ClassVar[DeviceKind]
    # Commands this device takes (trigger, beep, led, enable, configure); may vary by mode.
    capabilities: frozenset[str] = frozenset()

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self.options: Mapping[str, Any] = dict(options or {})
        self._health = Health()
        self._opened = False

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        """Raise ValueError naming the option when `options` are not acceptable."""
        if options:
            raise ValueError(f"unknown option {sorted(options)[0]!r}")

    async def open(self) -> None:
        if self._opened:
            return
        self._set_state(HealthState.OPENING)
        try:
            await self._open()
        except BaseException:
            self._set_state(HealthState.ABSENT, "open failed")
            raise
        self._opened = True
        self._set_state(HealthState.READY)

    async def close(self) -> None:
        if not self._opened:
            return
        self._opened = False
        try:
            await self._close()
        finally:
            self._set_state(HealthState.ABSENT, "closed")

    async def __aenter__(self) -> Driver:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def health(self) -> Health:
        return self._health

    def note_read(self) -> None:
        self._health.reads += 1
        self._health.last_event_at = time.monotonic()

    def note_error(self) -> None:
        self._health.errors += 1
        self._health.last_event_at = time.monotonic()

    def _set_state(self, state: HealthState, detail: str = "") -> None:
        if state is not self._health.state:
            self._health.state = state
            self._health.since = time.monotonic()
        self._health.detail = detail

    @abstractmethod
    def identify(self) -> DeviceIdentity: ...

    @abstractmethod
    def events(self) -> AsyncIterator[Event]: ...

    async def command(self, name: str, **args: Any) -> str:
        """Send a device command (beep, led, enable, trigger) where supported; the reply."""
        raise NotSupported(f"{self.name} does not support the command {name!r}")

    def presence_path(self) -> str | None:
        """A filesystem path whose appearance means the device is (re)plugged, if any."""
        return None

    @classmethod
    async def probe(cls, url: str, options: Mapping[str, Any] | None = None) -> bool:
        """Whether this family talks to `url`; families override with a real handshake."""
        return False

    @abstractmethod
    async def _open(self) -> None: ...

    @abstractmethod
    async def _close(self) -> None: ...
