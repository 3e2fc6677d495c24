"""In-process simulated reader: emits specimen captures at a steady pace (demo and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from drivers.base import (
    Capture,
    CaptureKind,
    DeviceIdentity,
    DeviceKind,
    Driver,
    Event,
    now_ms,
)

# ICAO Doc 9303 specimens (fictional holder, fictional state UTO) and the IATA BCBP guide's
# example; public test data.
ICAO_TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
)
ICAO_TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)
IATA_BCBP = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 226F001A0025 100"

_PROFILES: dict[str, tuple[CaptureKind, tuple[str, ...]]] = {
    "passport": (CaptureKind.DOCUMENT, (ICAO_TD3, ICAO_TD1)),
    "boarding-pass": (CaptureKind.BARCODE, (IATA_BCBP,)),
}


class SimDriver(Driver):
    """A reader that presents its payloads one after another every `interval` seconds.

    Options: `profile` ("passport" or "boarding-pass"), `interval` (seconds, default 2),
    `count` (0 = forever; after `count` captures the reader stays connected, idle),
    `payloads` (strings replacing the profile's specimens; MRZ lines separated by newlines),
    `symbology` of barcodes (default "pdf417").
    """

    name: ClassVar[str] = "sim"
    kind: ClassVar[DeviceKind] = DeviceKind.MRZ_READER

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, options)
        self.validate_options(self.options)
        capture_kind, specimens = _PROFILES[str(self.options.get("profile", "passport"))]
        self._capture_kind = capture_kind
        self._payloads: tuple[str, ...] = tuple(self.options.get("payloads", specimens))
        self._interval = float(self.options.get("interval", 2.0))
        self._count = int(self.options.get("count", 0))
        self._symbology = str(self.options.get("symbology", "pdf417"))

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        unknown = set(options) - {"profile", "interval", "count", "payloads", "symbology"}
        if unknown:
            raise ValueError(f"unknown option {sorted(unknown)[0]!r}")
        if options.get("profile", "passport") not in _PROFILES:
            raise ValueError("profile: expected " + " or ".join(sorted(_PROFILES)))
        interval = options.get("interval", 2.0)
        if not isinstance(interval, int | float) or interval < 0:
            raise ValueError("interval: expected a number of seconds, zero or more")
        count = options.get("count", 0)
        if not isinstance(count, int) or count < 0:
            raise ValueError("count: expected a whole number, zero or more")
        payloads = options.get("payloads", ["x"])
        if not (
            isinstance(payloads, list) and payloads and all(isinstance(p, str) for p in payloads)
        ):
            raise ValueError("payloads: expected a non-empty list of strings")

    def identify(self) -> DeviceIdentity:
        kind = (
            DeviceKind.MRZ_READER
            if self._capture_kind is CaptureKind.DOCUMENT
            else DeviceKind.BARCODE
        )
        return DeviceIdentity(kind=kind, driver=self.name, transport="sim", node=self.url)

    async def _open(self) -> None:
        return None

    async def _close(self) -> None:
        return None

    async def events(self) -> AsyncIterator[Event]:
        emitted = 0
        while self._count == 0 or emitted < self._count:
            # Even at full speed, yield to the loop between captures.
            await asyncio.sleep(self._interval)
            payload = self._payloads[emitted % len(self._payloads)]
            emitted += 1
            self.note_read()
            if self._capture_kind is CaptureKind.DOCUMENT:
                raw = (payload.replace("\n", "\r") + "\r").encode("ascii")
                yield Capture(CaptureKind.DOCUMENT, raw, now_ms(), text=payload)
            else:
                yield Capture(
                    CaptureKind.BARCODE,
                    payload.encode("latin-1"),
                    now_ms(),
                    text=payload,
                    symbology=self._symbology,
                )
        # Like a real reader with nothing presented: stay connected until closed.
        await asyncio.Event().wait()
