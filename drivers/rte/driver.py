"""`mrz-rte`: 3M / Gemalto / Thales RTE readers over RS-232 or USB virtual COM."""

from __future__ import annotations

from typing import Any, ClassVar

from drivers.base import NotSupported
from drivers.framing import Frame, Framer
from drivers.options import Option, option_bytes
from drivers.rte.framer import LENGTH_COVERS, PAD, RteFramer, encode
from drivers.stream import DocumentReader
from drivers.transports import SerialSettings

MODES = ("native", "interrupt", "polled")
# The "Enable" bytes of RTE Interrupt/Polled are not published: by default an RTE frame from
# the host ('H') of type 'E' with no lines; configurable with `enable_command`.
DEFAULT_ENABLE = encode([], device="H", kind="E", flag=0x30)


class RteDriver(DocumentReader):
    """RTE Native sends one unsolicited frame per read; Interrupt and Polled stay silent until
    the host sends Enable (Polled: again after every read)."""

    name: ClassVar[str] = "mrz-rte"
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(baudrate=9600)
    default_idle_timeout: ClassVar[float] = 0.5
    family_options: ClassVar[tuple[Option, ...]] = (
        Option("mode", "native", "RTE protocol mode", choices=MODES),
        Option("bcc", False, "frames end with an XOR block check character"),
        Option("length_covers", "body", "bytes the length word counts", choices=LENGTH_COVERS),
        Option("enable_command", "", "Enable bytes for interrupt/polled mode (\\xNN escapes)"),
    )

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(url, options)
        custom = self.settings["enable_command"]
        self._enable = option_bytes(self.settings, "enable_command") if custom else DEFAULT_ENABLE
        self.capabilities = (
            frozenset() if self.settings["mode"] == "native" else frozenset({"enable"})
        )

    @classmethod
    def validate_options(cls, options: Any) -> None:
        super().validate_options(options)
        option_bytes(options, "enable_command")

    def make_framer(self) -> Framer:
        return RteFramer(bcc=self.settings["bcc"], length_covers=self.settings["length_covers"])

    def mrz_lines(self, frame: Frame) -> list[str]:
        text = frame.payload.decode("latin-1")
        return [row.rstrip(PAD) for row in text.split("\r") if row.rstrip(PAD).strip()]

    async def on_connected(self) -> None:
        if self.settings["mode"] != "native":
            await self.send(self._enable)

    async def on_data(self, frame: Frame) -> None:
        if self.settings["mode"] == "polled":
            await self.send(self._enable)

    async def command(self, name: str, **args: Any) -> str:
        if name == "enable" and self.settings["mode"] != "native":
            await self.send(self._enable)
            return "sent"
        raise NotSupported(f"{self.name} in {self.settings['mode']} mode has no command {name!r}")
