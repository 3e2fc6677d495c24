"""`barcode-hidpos`: USB HID POS barcode scanners (Honeywell, Access-IS) through pyusb."""

from __future__ import annotations

from typing import Any, ClassVar

from drivers import honeywell
from drivers.base import NotSupported
from drivers.framing import Frame, Framer
from drivers.hidpos.framer import (
    ERROR_BEEP,
    TRIGGER,
    UNTRIGGER,
    HidPosFramer,
    command_reports,
    trigger_report,
)
from drivers.hidpos.transport import HidPosTransport
from drivers.stream import BarcodeScanner
from drivers.transports import Transport

PROBE_QUERY = "BEPLVL?"


def _reply_bytes(frame: Frame) -> bytes:
    """A HID POS REPLY frame's raw bytes are whole reports: the reply is its payload."""
    return frame.payload


class HidPosDriver(BarcodeScanner):
    """Reads arrive as input reports; trigger and beep go in output report 4, Honeywell
    menu commands as raw serial bytes in output report 253."""

    name: ClassVar[str] = "barcode-hidpos"
    transport_kind: ClassVar[str] = "hidpos"
    # Only a multi-report read in progress arms the idle timer: its reports come back to
    # back (one per interrupt poll), so silence this long means the rest was lost.
    default_idle_timeout: ClassVar[float] = 0.2
    capabilities: frozenset[str] = frozenset({"trigger", "untrigger", "beep", "menu"})

    def make_transport(self) -> Transport:
        return HidPosTransport(self.url)

    def make_framer(self) -> Framer:
        return HidPosFramer()

    def presence_path(self) -> str | None:
        return None  # no device node to watch: the supervisor retries on its backoff

    async def send(self, data: bytes) -> None:
        """Raw serial command bytes (e.g. a menu command), carried in output reports 253."""
        for report in command_reports(data):
            await self.send_report(report)

    async def send_report(self, report: bytes) -> None:
        await super().send(report)

    async def menu(
        self, command: str, *, store: bool = False, wait: float = honeywell.MENU_TIMEOUT_S
    ) -> honeywell.MenuReply:
        """Send a menu command and return its reply; MenuRefused on ENQ/NAK."""
        text = honeywell.store_text(command, store=store)
        return await honeywell.menu(self, text, wait, reply_of=_reply_bytes)

    async def command(self, name: str, **args: Any) -> str:
        actions = {"trigger": TRIGGER, "untrigger": UNTRIGGER, "beep": ERROR_BEEP}
        if name in actions:
            if name == "beep" and args.get("tone", "error") != "error":
                raise NotSupported(f"{self.name} has only the error beep")
            await self.send_report(trigger_report(actions[name]))
            return "sent"
        if name == "menu":
            text, store = honeywell.menu_argument(args)
            return (await self.menu(text, store=store)).text
        raise NotSupported(f"{self.name} does not support the command {name!r}")

    async def handshake(self) -> bool:
        """Whether the scanner answers a menu query (ACK, ENQ or NAK)."""
        return await honeywell.answers_query(self, PROBE_QUERY, reply_of=_reply_bytes)
