"""`wedge`: keyboard-emulation MRZ readers and barcode scanners, read from their evdev node.

One entry point, two behaviours picked by the `kind` option: `WedgeDriver(url, options)`
returns a `WedgeDocumentReader` (MRZ lines → DOCUMENT captures) or a `WedgeBarcodeScanner`
(payload → BARCODE captures, symbology from an AIM identifier when the scanner types one).
Both decode key codes with the layout set *in the scanner* (`layout`), never the host's.

The URL is an evdev node (`/dev/input/by-id/usb-...-event-kbd`, grabbed) or, for simulators
and bridges, a pty path or `socket://host:port` carrying the same `struct input_event` records
(nothing to grab there: the hints say so).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from drivers.base import Capture, CaptureKind, DeviceKind, Event, Notice, now_ms
from drivers.framing import Frame, Framer
from drivers.options import Option, resolve
from drivers.stream import BarcodeScanner, DocumentReader, StreamDriver
from drivers.symbology import aim_symbology
from drivers.transports import SerialSettings, Transport, open_transport
from drivers.wedge.framer import WedgeFramer
from drivers.wedge.keymaps import LAYOUT_NAMES, LAYOUTS
from drivers.wedge.transport import EvdevTransport

KINDS = ("document", "barcode")
MRZ_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
# A whole MRZ typed without separators, by length (ICAO 9303: TD1, TD2 / MRV-B, TD3 / MRV-A).
MRZ_LINE_LENGTH = {90: 30, 72: 36, 88: 44}
NO_GRAB = "not applicable: a byte stream, not an evdev node"


class WedgeDriver(StreamDriver):
    """A keyboard wedge; `kind` selects the document or the barcode behaviour."""

    name: ClassVar[str] = "wedge"
    kind: ClassVar[DeviceKind] = DeviceKind.MRZ_READER  # the default `kind` option
    transport_kind: ClassVar[str] = "evdev"
    kind_option: ClassVar[str] = "document"
    # With Enter ending reads, silence only bounds a read that stopped half-way.
    default_idle_timeout: ClassVar[float] = 0.3
    family_options: ClassVar[tuple[Option, ...]] = (
        Option("kind", "document", "what the device reads", choices=KINDS),
        Option("layout", "us", "keyboard country set in the scanner", choices=LAYOUT_NAMES),
        Option(
            "terminator",
            "enter",
            "what ends a read: Enter, or `none` (idle_timeout of silence)",
            choices=("enter", "none"),
        ),
        Option(
            "lines_per_read",
            0,
            "Enter-ended lines in one read (0: documents from the MRZ line length, barcodes 1)",
            minimum=0,
            maximum=64,
        ),
        Option(
            "line_length",
            0,
            "split a document typed without separators into lines of this length "
            "(0: by the MRZ length, 90 → 3 x 30, 72 → 2 x 36, 88 → 2 x 44)",
            minimum=0,
            maximum=44,
        ),
        Option("aim", False, "barcodes: the scanner types an AIM identifier first"),
        Option(
            "transport",
            "auto",
            "evdev node, or a byte stream of input events (auto: evdev under /dev/input)",
            choices=("auto", "evdev", "stream"),
        ),
        Option("grab", True, "grab the evdev node so no keystroke reaches other programs"),
        Option(
            "key_gap",
            0.0,
            "longest pause between key events of one read, in the events' own timestamps "
            "(0: idle_timeout)",
            minimum=0.0,
            maximum=10.0,
        ),
    )

    def __new__(cls, url: str, options: Mapping[str, Any] | None = None) -> WedgeDriver:
        target: type[WedgeDriver] = cls
        if cls is WedgeDriver:
            barcode = (options or {}).get("kind") == "barcode"
            target = WedgeBarcodeScanner if barcode else WedgeDocumentReader
        return super().__new__(target)

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        settings = resolve(cls.option_spec(), options)
        kind = settings["kind"] if cls is WedgeDriver else cls.kind_option
        if options.get("kind", kind) != kind:
            raise ValueError(f"kind: {cls.__name__} reads {kind!r}")
        if settings["aim"] and kind != "barcode":
            raise ValueError("aim: only for kind = 'barcode'")
        if settings["line_length"] and kind != "document":
            raise ValueError("line_length: only for kind = 'document'")

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, options)
        self.layout = LAYOUTS[self.settings["layout"]]

    def make_transport(self) -> Transport:
        mode = self.settings["transport"]
        if mode == "auto":
            under_input = os.path.realpath(self.url).startswith("/dev/input/")
            mode = "evdev" if self.url.startswith("/") and under_input else "stream"
        if mode == "evdev":
            return EvdevTransport(self.url, grab=self.settings["grab"])
        return open_transport(self.url, SerialSettings())  # ptys ignore line settings

    def make_framer(self) -> Framer:
        lines = self.settings["lines_per_read"]
        if self.kind is DeviceKind.BARCODE:
            lines = max(lines, 1)
        return WedgeFramer(
            self.layout,
            lines=lines,
            end_on_idle=self.settings["terminator"] == "none",
            caps_lock=self.host_hints.get("caps_lock") == "on",
            key_gap=self.settings["key_gap"] or self.idle_timeout,
        )

    async def _open(self) -> None:
        await super()._open()
        self.host_hints.setdefault("grab", NO_GRAB)

    def to_event(self, frame: Frame) -> Event | None:
        """Decoded by the kind's subclass; `__new__` never builds a bare WedgeDriver."""
        raise NotImplementedError


class WedgeDocumentReader(WedgeDriver, DocumentReader):
    """MRZ lines typed by a reader; a character outside the MRZ alphabet rejects the read."""

    kind: ClassVar[DeviceKind] = DeviceKind.MRZ_READER

    def mrz_lines(self, frame: Frame) -> list[str]:
        lines = [line for line in frame.payload.decode("utf-8").split("\r") if line]
        if len(lines) != 1:
            return lines
        (text,) = lines
        width = self.settings["line_length"] or MRZ_LINE_LENGTH.get(len(text), 0)
        if width and len(text) > width and len(text) % width == 0:
            return [text[i : i + width] for i in range(0, len(text), width)]
        return lines

    def to_event(self, frame: Frame) -> Event | None:
        if any(set(line) - MRZ_ALPHABET for line in self.mrz_lines(frame)):
            return Notice(
                "bad_charset",
                "characters outside the MRZ alphabet: is the reader's keyboard country "
                f"{self.layout.name!r} as configured?",
                frame.raw,
            )
        return DocumentReader.to_event(self, frame)


class WedgeBarcodeScanner(WedgeDriver, BarcodeScanner):
    """A scanner's payload (UTF-8 of the typed text); symbology from its AIM id if configured."""

    kind: ClassVar[DeviceKind] = DeviceKind.BARCODE
    kind_option: ClassVar[str] = "barcode"

    def to_event(self, frame: Frame) -> Event | None:
        text = frame.payload.decode("utf-8")
        meta = dict(frame.fields)
        symbology = "unknown"
        if self.settings["aim"]:
            if len(text) < 3 or text[0] != "]":
                return Notice("no_aim", "a read without the AIM identifier expected", frame.raw)
            meta["aim"], text = text[:3], text[3:]
            symbology = aim_symbology(meta["aim"])
        if not text:
            return Notice("empty_read", "the scanner sent a read with no data", frame.raw)
        return Capture(
            CaptureKind.BARCODE,
            frame.raw,
            now_ms(),
            text=text,  # typed keys are printable: shown to the officer as scanners' reads are
            payload=text.encode("utf-8"),
            symbology=symbology,
            meta=meta,
        )
