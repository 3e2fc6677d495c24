"""`barcode-serial`: barcode scanners on CDC-ACM or RS-232 (`[prefix][code id][data][suffix]`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from drivers import honeywell
from drivers.barcode.framer import CODE_ID_MODES, TERMINATORS, BarcodeFramer
from drivers.base import Notice, NotSupported, ProtocolError
from drivers.framing import Frame, Framer
from drivers.options import Option, option_bytes
from drivers.stream import BarcodeScanner
from drivers.transports import SerialSettings

ESC = b"\x1b"
# Host ACK mode: after each read the scanner waits (up to 10 s) for one of these.
HOST_ACK: dict[str, bytes] = {
    "double": ESC + b"a,",
    "error": ESC + b"b,",
    "led": ESC + b"1,",  # green good-read LED for 135 ms
    "low": ESC + b"4,",
    "medium": ESC + b"5,",
    "high": ESC + b"6,",
}
# A harmless query every Honeywell engine answers: the beeper volume.
PROBE_QUERY = "BEPLVL?"
# Notices that are not a rejected read, so get no Host-ACK answer.
UNANSWERED = frozenset({"noise", "bad_reply"})


class BarcodeSerialDriver(BarcodeScanner):
    """A serial scanner; in Host-ACK mode each read is answered: good-read LED when it framed
    correctly, error tone when not (the document's verdict is not the driver's to know)."""

    name: ClassVar[str] = "barcode-serial"
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(baudrate=115200)
    default_idle_timeout: ClassVar[float] = 0.1
    family_options: ClassVar[tuple[Option, ...]] = (
        Option("prefix", "", "bytes before every read (\\xNN escapes)"),
        Option("code_id_mode", "aim", "code id after the prefix", choices=CODE_ID_MODES),
        Option(
            "terminator",
            "CR",
            "suffix that ends a read (none: the idle timeout ends it)",
            choices=(*TERMINATORS, "custom"),
        ),
        Option("terminator_bytes", "", "the custom terminator (\\xNN escapes)"),
        Option("host_ack", False, "answer every read with ESC x , (Honeywell Host ACK)"),
    )

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, options)
        s = self.settings
        self.prefix = option_bytes(s, "prefix")
        self.terminator = (
            option_bytes(s, "terminator_bytes")
            if s["terminator"] == "custom"
            else TERMINATORS[s["terminator"]]
        )
        self.host_ack: bool = s["host_ack"]
        caps = {"trigger", "untrigger", "menu"}
        if self.host_ack:
            caps |= {"beep", "led"}
        self.capabilities = frozenset(caps)
        self._barcode_framer: BarcodeFramer | None = None

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        super().validate_options(options)
        for key in ("prefix", "terminator_bytes"):
            option_bytes(options, key)
        if options.get("terminator") == "custom" and not options.get("terminator_bytes"):
            raise ValueError("terminator_bytes: required when terminator is 'custom'")

    def make_framer(self) -> Framer:
        self._barcode_framer = BarcodeFramer(
            prefix=self.prefix,
            code_id_mode=self.settings["code_id_mode"],
            terminator=self.terminator,
        )
        return self._barcode_framer

    # -- Host ACK --------------------------------------------------------------------------

    async def on_data(self, frame: Frame) -> None:
        if self.host_ack:
            await self.send(HOST_ACK["led"])

    async def notice(self, notice: Notice) -> None:
        await super().notice(notice)
        # A read that was not accepted is answered with the error tone, which also releases
        # a scanner waiting in Host-ACK mode at once instead of after its 10 s time-out.
        # Noise is not a read: answering it could be taken for the answer to the next read.
        if self.host_ack and notice.code not in UNANSWERED and self._transport is not None:
            await self.send(HOST_ACK["error"])

    # -- commands --------------------------------------------------------------------------

    async def menu(
        self, command: str, *, store: bool = False, wait: float = honeywell.MENU_TIMEOUT_S
    ) -> honeywell.MenuReply:
        """Send a menu command (`store`: non-volatile) and return its reply; MenuRefused on
        ENQ/NAK, ProtocolError when nothing answers."""
        text = honeywell.store_text(command, store=store)
        framer = self._barcode_framer
        if framer is None:
            raise ProtocolError(f"{self.name}: the device is not open")
        framer.expect_reply = True
        try:
            return await honeywell.menu(self, text, wait)
        finally:
            framer.expect_reply = False

    async def command(self, name: str, **args: Any) -> str:
        if name == "trigger":
            await self.send(honeywell.TRIGGER)
            return "sent"
        if name == "untrigger":
            await self.send(honeywell.UNTRIGGER)
            return "sent"
        if name == "menu":
            text, store = honeywell.menu_argument(args)
            return (await self.menu(text, store=store)).text
        if name in ("beep", "led") and self.host_ack:
            key = "led" if name == "led" else str(args.get("tone", "error"))
            if key not in HOST_ACK:
                raise NotSupported(f"{self.name} has no tone {key!r}")
            await self.send(HOST_ACK[key])
            return "sent"
        raise NotSupported(f"{self.name} does not support the command {name!r}")

    async def handshake(self) -> bool:
        """Whether a Honeywell-syntax scanner answers a menu query (ACK, ENQ or NAK)."""
        framer = self._barcode_framer
        if framer is None:
            return False
        framer.expect_reply = True
        try:
            return await honeywell.answers_query(self, PROBE_QUERY)
        finally:
            framer.expect_reply = False
