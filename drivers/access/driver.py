"""`access-stx`: Access-IS readers in Standard Access Configuration (barcodes, 9600 7E1).

Barcode reads only: whether these readers send OCR/MRZ reads in STX framing is not
documented, so MRZ reads from Access-IS OCR modules belong to `mrz-line`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from drivers import honeywell
from drivers.access.framer import AccessRawFramer, AccessStxFramer
from drivers.base import NotSupported
from drivers.framing import Framer
from drivers.options import Option, option_bytes
from drivers.stream import BarcodeScanner
from drivers.transports import SerialSettings

MODES = ("standard", "raw")
# A harmless query every Access-IS module answers: the host interface.
PROBE_QUERY = "AISINF?"


class AccessStxDriver(BarcodeScanner):
    """Standard mode: `STX sym data CR ETX` at 9600 7E1; raw mode: `<code id>data` at 9600
    8N1, ended by `terminator` or by silence. Honeywell menu commands in both."""

    name: ClassVar[str] = "access-stx"
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=7, parity="E"
    )
    default_idle_timeout: ClassVar[float] = 0.1
    family_options: ClassVar[tuple[Option, ...]] = (
        Option("mode", "standard", "standard: STX framing, 7E1; raw: code id + data, 8N1", MODES),
        Option("terminator", "", "raw mode: bytes that end a read (\\xNN escapes; empty: idle)"),
        honeywell.CONFIGURE_OPTION,
    )

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, honeywell.with_configure_text(options))
        self.raw_mode: bool = self.settings["mode"] == "raw"
        self.terminator = option_bytes(self.settings, "terminator")
        self.configure_commands = honeywell.configure_commands(self.settings["configure"])
        self.capabilities = frozenset({"menu", "query", "configure"})

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        options = honeywell.with_configure_text(options)
        super().validate_options(options)
        option_bytes(options, "terminator")

    def serial_settings(self) -> SerialSettings:
        settings = super().serial_settings()
        if not self.raw_mode:
            return settings
        # Raw Data runs at 8N1 unless the line settings are given explicitly.
        return SerialSettings(
            baudrate=settings.baudrate,
            bytesize=self.options.get("bytesize", 8),
            parity=self.options.get("parity", "N"),
            stopbits=settings.stopbits,
            xonxoff=settings.xonxoff,
            rtscts=settings.rtscts,
        )

    def make_framer(self) -> Framer:
        if self.raw_mode:
            return AccessRawFramer(self.terminator)
        return AccessStxFramer()

    async def on_connected(self) -> None:
        await honeywell.configure(self, self.configure_commands)

    async def command(self, name: str, **args: Any) -> str:
        """menu: "ack" (MenuRefused on ENQ/NAK); query: the answer, e.g. "AISINF1"."""
        if name in honeywell.MENU_COMMANDS:
            return await honeywell.run_command(self, name, args)
        raise NotSupported(f"{self.name} has no command {name!r}")

    @classmethod
    def probe_candidates(cls, options: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [honeywell.without_configure(options)]

    async def handshake(self) -> bool:
        return await honeywell.answers_query(self, PROBE_QUERY)
