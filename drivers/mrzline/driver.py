"""`mrz-line`: OCR engines (Honeywell imagers, Access-IS OCR) sending MRZ lines over USB CDC."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from drivers import honeywell
from drivers.base import NotSupported
from drivers.framing import Frame, Framer
from drivers.mrzline.framer import SEPARATORS, MrzLineFramer
from drivers.options import Option, option_bytes
from drivers.stream import DocumentReader
from drivers.transports import SerialSettings

TRIGGER_MODES = ("auto", "manual")
# A harmless query a Honeywell engine answers: the trigger mode.
PROBE_QUERY = "TRGMOD?"
# Baud rates tried by probe() when none is given: the Access-IS default, then Honeywell's.
PROBE_BAUDS = (115200, 9600)


class MrzLineDriver(DocumentReader):
    """One read per document, lines separated by CR (LF, CRLF), no trailer; a read ends when
    its lines make a complete MRZ. Manual trigger mode reads only after `command("trigger")`."""

    name: ClassVar[str] = "mrz-line"
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(baudrate=115200)
    default_idle_timeout: ClassVar[float] = 0.15
    family_options: ClassVar[tuple[Option, ...]] = (
        Option("separator", "CR", "bytes between MRZ lines", choices=tuple(SEPARATORS)),
        Option("prefix", "", "bytes before every read (\\xNN escapes)"),
        Option("suffix", "", "bytes after every read (\\xNN escapes)"),
        Option("trigger_mode", "auto", "auto: reads on presentation", choices=TRIGGER_MODES),
        Option("row_gap", 0.5, "seconds to wait for rows sent separately", minimum=0, maximum=10),
        honeywell.CONFIGURE_OPTION,
    )

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, honeywell.with_configure_text(options))
        s = self.settings
        self.separator = SEPARATORS[s["separator"]]
        self.prefix = option_bytes(s, "prefix")
        self.suffix = option_bytes(s, "suffix")
        self.manual: bool = s["trigger_mode"] == "manual"
        self.configure_commands = honeywell.configure_commands(s["configure"])
        base = {"menu", "query", "configure"}
        self.capabilities = frozenset(base | ({"trigger"} if self.manual else set()))

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        options = honeywell.with_configure_text(options)
        super().validate_options(options)
        for name in ("prefix", "suffix"):
            option_bytes(options, name)

    def make_framer(self) -> Framer:
        return MrzLineFramer(
            separator=self.separator,
            prefix=self.prefix,
            suffix=self.suffix,
            gap_idles=math.ceil(self.settings["row_gap"] / self.idle_timeout),
        )

    def mrz_lines(self, frame: Frame) -> list[str]:
        return frame.payload.decode("latin-1").split(self.separator.decode("latin-1"))

    async def on_connected(self) -> None:
        await honeywell.configure(self, self.configure_commands)

    async def command(self, name: str, **args: Any) -> str:
        """trigger / untrigger (manual mode): "sent"; menu: "ack" (MenuRefused on ENQ/NAK);
        query: the device's answer, e.g. "TRGMOD0"."""
        if name in ("trigger", "untrigger") and self.manual:
            await self.send(honeywell.TRIGGER if name == "trigger" else honeywell.UNTRIGGER)
            return "sent"
        if name in honeywell.MENU_COMMANDS:
            return await honeywell.run_command(self, name, args)
        raise NotSupported(f"{self.name} has no command {name!r} in this mode")

    @classmethod
    def probe_candidates(cls, options: Mapping[str, Any]) -> list[dict[str, Any]]:
        base = honeywell.without_configure(options)
        if "baudrate" in base:
            return [base]
        return [{**base, "baudrate": baud} for baud in PROBE_BAUDS]

    async def handshake(self) -> bool:
        return await honeywell.answers_query(self, PROBE_QUERY)
