"""A HID POS scanner on the in-process fake USB bus: exact 64-byte reports, output reports.

Starting a `HidPosSim` routes this process's HID POS transport to the fake bus
(`drivers.hidpos.transport.set_backend`), so it lives inside one process only (tests, demo).
Chunking means how many reports arrive back to back (`sizes`) and the pause between such
bursts (`gaps`); garbage is a malformed report.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, ClassVar

from drivers import honeywell
from drivers.hidpos import transport
from drivers.hidpos.fakeusb import PRODUCT_ID, VENDOR_ID, FakeUsbDevice, fake_bus
from drivers.hidpos.framer import (
    COMMAND_ID,
    ERROR_BEEP,
    REPORT_SIZE,
    TRIGGER,
    TRIGGER_ID,
    UNTRIGGER,
    input_reports,
)
from drivers.sim.device import SimDevice
from drivers.symbology import HONEYWELL_CODES, aim_for

_serials = itertools.count(1)
_HONEYWELL_IDS = {name: code for code, name in HONEYWELL_CODES.items()}
MENU_ALLOWED: dict[str, tuple[str, ...] | None] = {
    "BEPLVL": ("0", "1", "2", "3"),
    "TRGMOD": ("0", "3", "8"),
}
MENU_DEFAULTS = {"BEPLVL": "3", "TRGMOD": "0"}
ACTIONS = {TRIGGER: "trigger", UNTRIGGER: "untrigger", ERROR_BEEP: "beep"}


class HidPosSim(SimDevice):
    """A Honeywell HID POS scanner (VID 0x0c2e, example PID) behind a usb:// URL."""

    profile: ClassVar[str] = "hidpos"
    description: ClassVar[str] = "Honeywell-style USB HID POS barcode scanner (fake USB bus)"
    driver: ClassVar[str] = "barcode-hidpos"
    carries: ClassVar[str] = "barcode"
    standalone: ClassVar[bool] = False

    def __init__(
        self,
        *,
        serial: str | None = None,
        symbology: str = "qr",
        aim_modifier: str = "1",
        out_endpoint: bool = True,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.serial = serial or f"SIM{next(_serials):06d}"
        self.symbology = symbology
        self.aim_modifier = aim_modifier
        self.usb = FakeUsbDevice(self.serial, out_endpoint=out_endpoint)
        self.usb.on_output = self._from_worker
        self.output_reports: list[bytes] = []  # every output report, as the host sent it
        self.actions: list[str] = []  # report 4: "trigger", "untrigger", "beep"
        self.menu = honeywell.MenuState(dict(MENU_ALLOWED), dict(MENU_DEFAULTS))
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"usb://{VENDOR_ID:04x}:{PRODUCT_ID:04x}?serial={self.serial}"

    # -- plugging ---------------------------------------------------------------------------

    async def start(self) -> str:
        self._loop = asyncio.get_running_loop()
        transport.set_backend(fake_bus())
        return await super().start()

    async def replug(self) -> None:
        if self.plugged:
            await self.unplug()
        fake_bus().plug(self.usb)  # a new bus address, the same serial number
        self.plugged = True
        self.on_plug()

    async def unplug(self) -> None:
        self.plugged = False
        self.on_unplug()
        fake_bus().unplug(self.usb)  # reads on the host fail with ENODEV

    def on_unplug(self) -> None:
        self.inbox.clear()

    # -- reads ------------------------------------------------------------------------------

    def encode(self, item: str | bytes) -> bytes:
        data = item.encode("latin-1") if isinstance(item, str) else item
        aim = aim_for(self.symbology, self.aim_modifier).encode("ascii")
        return input_reports(data, aim=aim, code_id=_HONEYWELL_IDS.get(self.symbology, 0))

    async def inject_garbage(self, data: bytes | None = None) -> bytes:
        """A malformed report: `data` as one report, or a length byte past 56."""
        if data is None:
            data = bytes([2, 0xC8]) + self.rng.randbytes(REPORT_SIZE - 2)
        await self.write(data)
        return data

    async def write(self, data: bytes) -> None:
        """Send `data` as input reports (a partial last report is zero-filled, as a device
        never sends less than a whole report), in bursts of `sizes` reports `gaps` apart."""
        async with self._write_lock:
            if not self.plugged:
                raise ConnectionError("the simulated device is unplugged")
            padded = data.ljust(-(-len(data) // REPORT_SIZE) * REPORT_SIZE, b"\0")
            reports = [padded[i : i + REPORT_SIZE] for i in range(0, len(padded), REPORT_SIZE)]
            while reports:
                count = len(reports) if self._chunks is None else self.rng.randint(*self._chunks)
                burst, reports = reports[: max(1, count)], reports[max(1, count) :]
                self.usb.push(burst)
                if reports and self._gaps[1] > 0:
                    await asyncio.sleep(self.rng.uniform(*self._gaps))
            self.sent.extend(data)

    # -- output reports ---------------------------------------------------------------------

    def _from_worker(self, report: bytes) -> None:
        """Called on the host's USB thread: hand the report to the loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._output, report)

    def _output(self, report: bytes) -> None:
        self.output_reports.append(report)
        self.host_sent.extend(report)
        if report[:1] == bytes([TRIGGER_ID]) and len(report) >= 2:
            self.commands.append(report)
            if not self.take_failure():  # a refused trigger is missed, as by a busy scanner
                self.actions.append(ACTIONS.get(report[1], f"0x{report[1]:02x}"))
        elif report[:1] == bytes([COMMAND_ID]) and len(report) >= 2:
            self.inbox.extend(report[2 : 2 + report[1]])
            for command in honeywell.take_commands(self.inbox):
                self._command(command)

    def _command(self, command: honeywell.HostCommand) -> None:
        self.commands.append(command.raw)
        if command.kind != "menu":
            self.actions.append(command.kind)
            return
        answer = self.menu.answer(command.body, refuse=self.take_failure())
        self.reply(input_reports(answer))  # an empty AIM id: not a barcode
