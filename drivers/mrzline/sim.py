"""Honeywell OCR imager on USB CDC: MRZ rows joined by CR, no trailer, Honeywell menu commands."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from drivers.honeywell import MenuState, take_commands
from drivers.mrzline.framer import SEPARATORS
from drivers.options import escaped
from drivers.sim.device import SimDevice

DIGITS = tuple("0123456789")
# TRGMOD values of manual trigger modes (the others are presentation / streaming modes).
MANUAL_MODES = ("0", "1")


class HoneywellOcrSim(SimDevice):
    """A read is `prefix L1 SEP L2 [SEP L3] suffix` (TD3: 89 bytes, TD1: 92), rows optionally
    `row_gap` seconds apart. In manual trigger mode (TRGMOD0) the document in view is read
    only once the host sends `SYN T CR`, and scanning stops after the read. Menu commands are
    echoed with ACK, ENQ (unknown tag/subtag) or NAK (bad data, or `fail_next`)."""

    profile: ClassVar[str] = "honeywell-ocr-cdc"
    description: ClassVar[str] = "Honeywell OCR imager (USB CDC): MRZ rows joined by CR"
    driver: ClassVar[str] = "mrz-line"
    carries: ClassVar[str] = "document"

    def __init__(
        self,
        *,
        separator: str = "CR",
        prefix: bytes = b"",
        suffix: bytes = b"",
        trigger_mode: str = "auto",
        row_gap: float = 0.0,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.separator = separator
        self.prefix = prefix
        self.suffix = suffix
        self.row_gap = row_gap
        self.menu = MenuState(
            allowed={
                "TRGMOD": ("0", "1", "3", "4", "5", "8", "9"),
                "OCRENA": ("0", "1"),
                "OCRATS": DIGITS,
                "ALLENA": ("0", "1"),
                "PREBK2": None,
                "SUFBK2": None,
            },
            values={
                "TRGMOD": "0" if trigger_mode == "manual" else "3",
                "OCRENA": "1",
                "OCRATS": "2",
                "ALLENA": "1",
                "PREBK2": "",
                "SUFBK2": "",
            },
        )
        self.triggered = False
        self.triggers = 0
        self.in_view: str | bytes | None = None

    @property
    def manual(self) -> bool:
        return self.menu.values["TRGMOD"] in MANUAL_MODES

    def options(self) -> dict[str, object]:
        return {
            "separator": self.separator,
            "prefix": escaped(self.prefix),
            "suffix": escaped(self.suffix),
            "trigger_mode": "manual" if self.manual else "auto",
        }

    def rows(self, item: str | bytes) -> list[bytes]:
        """The read of `item` in the pieces the engine sends (one per row)."""
        text = item.decode("latin-1") if isinstance(item, bytes) else item
        sep = SEPARATORS[self.separator]
        lines = [line.encode("latin-1") for line in text.splitlines()]
        pieces = [line + sep for line in lines[:-1]] + lines[-1:]
        pieces[0] = self.prefix + pieces[0]
        pieces[-1] += self.suffix
        return pieces

    def encode(self, item: str | bytes) -> bytes:
        return b"".join(self.rows(item))

    async def present(self, item: str | bytes, *, repeat: int = 1, truncate: int = 0) -> bytes:
        text = item.decode("latin-1") if isinstance(item, bytes) else item
        frame = self.encode(text)
        # A cut read goes out as the bytes it is; a whole one row by row.
        read: str | bytes = frame[:truncate] if truncate else text
        if self.menu.values["OCRENA"] == "0":
            return frame  # OCR disabled: the engine does not read the MRZ
        if self.manual and not self.triggered:
            self.in_view = read  # read once the host triggers
            return frame
        for _ in range(repeat):
            await self._read(read)
        return frame[:truncate] if truncate else frame

    async def remove(self) -> None:
        self.in_view = None

    async def _read(self, read: str | bytes) -> None:
        """Send one read: bytes as they are, text row by row (`row_gap` apart)."""
        if isinstance(read, bytes):
            pieces = [read]
        else:
            pieces = self.rows(read) if self.row_gap else [self.encode(read)]
        for n, piece in enumerate(pieces):
            if n:
                await asyncio.sleep(self.row_gap)
            await self.write(piece)
        if self.manual:
            self.triggered = False  # scanning stops on a good read

    def on_host(self, data: bytes) -> None:
        for command in take_commands(self.inbox):
            self.commands.append(command.raw)
            if command.kind == "menu":
                self.reply(self.menu.answer(command.body, refuse=self.take_failure()))
            elif command.kind == "trigger":
                self.triggers += 1
                self.triggered = True
                if self.in_view is not None:
                    read, self.in_view = self.in_view, None
                    self.spawn(self._read(read), "sim-read")
            else:
                self.triggered = False

    def on_unplug(self) -> None:
        self.triggered = False
        self.inbox.clear()
