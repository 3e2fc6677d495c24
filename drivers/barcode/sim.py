"""A Honeywell-style CDC-ACM / RS-232 barcode scanner: reads, menu commands, trigger, Host ACK."""

from __future__ import annotations

import asyncio
import collections
from typing import Any, ClassVar

from drivers import honeywell
from drivers.barcode.driver import ESC
from drivers.barcode.framer import TERMINATORS, encode
from drivers.options import escaped
from drivers.sim.device import SimDevice
from drivers.symbology import HONEYWELL_CODES, aim_for

# The scanner's own Host-ACK wait (Xenon/Granit guide pp. 76-77); tests pass a shorter one.
HOST_ACK_TIMEOUT_S = 10.0
# Menu settings the simulated scanner knows: tag+subtag → allowed values (None: any).
MENU_ALLOWED: dict[str, tuple[str, ...] | None] = {
    "BEPLVL": ("0", "1", "2", "3"),  # beeper volume: off, low, medium, high
    "BEPBEP": ("0", "1"),  # beep on good read
    "TRGMOD": ("0", "3", "8"),  # manual, serial, presentation trigger
    "TRGSTO": None,  # read time-out in ms
}
MENU_DEFAULTS = {"BEPLVL": "3", "BEPBEP": "1", "TRGMOD": "0", "TRGSTO": "0"}
_HONEYWELL_IDS = {name: bytes([code]) for code, name in HONEYWELL_CODES.items()}


class BarcodeCdcSim(SimDevice):
    """Sends `[prefix][code id][data][suffix]` per presented barcode; in Host-ACK mode holds
    the next read until the host answers `ESC x ,` or the wait times out."""

    profile: ClassVar[str] = "barcode-cdc"
    description: ClassVar[str] = "Honeywell-style USB serial (CDC) barcode scanner"
    driver: ClassVar[str] = "barcode-serial"
    carries: ClassVar[str] = "barcode"

    def __init__(
        self,
        *,
        prefix: bytes = b"",
        code_id_mode: str = "aim",
        terminator: str = "CR",
        terminator_bytes: bytes = b"",
        host_ack: bool = False,
        ack_timeout: float = HOST_ACK_TIMEOUT_S,
        symbology: str = "qr",
        aim_modifier: str = "1",
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.prefix = prefix
        self.code_id_mode = code_id_mode
        self.terminator_name = terminator
        self.suffix = terminator_bytes if terminator == "custom" else TERMINATORS[terminator]
        self.host_ack = host_ack
        self.ack_timeout = ack_timeout
        self.symbology = symbology
        self.aim_modifier = aim_modifier
        self.menu = honeywell.MenuState(dict(MENU_ALLOWED), dict(MENU_DEFAULTS))
        self.acks: list[bytes] = []  # Host-ACK answers received: b"1", b"b", ...
        self.ack_timeouts = 0  # reads the host never answered (the scanner sounded an error)
        self.triggers: list[str] = []  # "on" / "off" in the order received
        self.awaiting_ack = False
        self._held: collections.deque[bytes] = collections.deque()
        self._ack_timer: asyncio.Task[None] | None = None

    def options(self) -> dict[str, object]:
        opts: dict[str, object] = {
            "prefix": escaped(self.prefix),
            "code_id_mode": self.code_id_mode,
            "terminator": self.terminator_name,
            "host_ack": self.host_ack,
        }
        if self.terminator_name == "custom":
            opts["terminator_bytes"] = escaped(self.suffix)
        return opts

    def code_id(self) -> bytes:
        if self.code_id_mode == "aim":
            return aim_for(self.symbology, self.aim_modifier).encode("ascii")
        if self.code_id_mode == "honeywell":
            return _HONEYWELL_IDS.get(self.symbology, b"?")
        return b""

    def encode(self, item: str | bytes) -> bytes:
        data = item.encode("latin-1") if isinstance(item, str) else item
        return encode(data, prefix=self.prefix, code_id=self.code_id(), terminator=self.suffix)

    # -- reads and Host ACK ----------------------------------------------------------------

    async def send_read(self, frame: bytes) -> None:
        if self.host_ack and (self.awaiting_ack or self._held):
            self._held.append(frame)  # the scanner reads nothing while it waits
        else:
            await self._send_read(frame)

    async def _send_read(self, frame: bytes) -> None:
        if self.host_ack:
            self.awaiting_ack = True  # before writing: the answer may come back at once
            self._ack_timer = self.spawn(self._ack_timeout(), "sim-ack-timer")
        await self.write(frame)

    async def _ack_timeout(self) -> None:
        await asyncio.sleep(self.ack_timeout)
        self.ack_timeouts += 1  # the scanner sounds its error tone and carries on
        self._ack_timer = None
        self._release()

    def _answered(self, code: bytes) -> None:
        self.acks.append(code)
        if not self.awaiting_ack:
            return  # a stray answer: the scanner was not waiting and ignores it
        timer, self._ack_timer = self._ack_timer, None
        if timer is not None:
            timer.cancel()
        self._release()

    def _release(self) -> None:
        self.awaiting_ack = False
        if self._held and self.plugged:
            self.spawn(self._send_read(self._held.popleft()), "sim-read")

    def on_unplug(self) -> None:
        timer, self._ack_timer = self._ack_timer, None
        if timer is not None:
            timer.cancel()
        self.awaiting_ack = False
        self._held.clear()
        self.inbox.clear()

    # -- host commands ---------------------------------------------------------------------

    def on_host(self, data: bytes) -> None:
        inbox = self.inbox
        while inbox:
            if inbox[:1] == ESC:
                if len(inbox) < 3:
                    return
                if inbox[2:3] == b",":
                    self.commands.append(bytes(inbox[:3]))
                    self._answered(bytes(inbox[1:2]))
                del inbox[:3]
                continue
            # Up to the next ESC: Honeywell commands (a command never holds an ESC byte).
            esc = inbox.find(ESC)
            segment = bytearray(inbox if esc < 0 else inbox[:esc])
            for command in honeywell.take_commands(segment):
                self._command(command)
            if esc < 0:
                inbox[:] = segment  # a command still arriving stays
                return
            del inbox[:esc]

    def _command(self, command: honeywell.HostCommand) -> None:
        self.commands.append(command.raw)
        if command.kind == "menu":
            self.reply(self.menu.answer(command.body, refuse=self.take_failure()))
        else:
            self.triggers.append("on" if command.kind == "trigger" else "off")
