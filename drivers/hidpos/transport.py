"""USB HID POS through pyusb: `usb://VVVV:PPPP[?serial=...]` or `usb://BUS/ADDRESS`.

Opening finds the device, detaches the kernel's usbhid from its HID interface and claims it;
a worker thread reads the interrupt IN endpoint with a short timeout (so `close()` is prompt)
and each 64-byte report becomes one chunk of `read()`. Output reports go to the interrupt OUT
endpoint when there is one, else by HID SET_REPORT on endpoint 0. pyusb's libusb1 backend is
used unless `set_backend()` installed another (the simulated bus of tests and the demo).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import usb.core
import usb.util

from drivers.base import DeviceUnavailable
from drivers.transports import Transport

HID_CLASS = 3
# One interrupt read waits at most this long, so a close never waits longer.
READ_POLL_MS = 50
# close(): how long the worker's last read may take to end (a few poll intervals).
CLOSE_WAIT_S = READ_POLL_MS / 1000 * 4
WRITE_TIMEOUT_MS = 1000
REPORT_SIZE = 64
# Reports read but not yet taken by the driver; a full queue stops reading (nothing dropped).
REPORT_QUEUE = 256
SET_REPORT, OUTPUT_REPORT = 0x09, 2

_backend: Any = None


def set_backend(backend: object | None) -> None:
    """Use `backend` (a pyusb IBackend) for every HID POS device; None: libusb (the default)."""
    global _backend  # noqa: PLW0603  # the one explicit hook: production never calls it
    _backend = backend


@dataclass(frozen=True, slots=True)
class UsbAddress:
    """Which device a URL names."""

    vendor_id: int | None = None
    product_id: int | None = None
    serial: str | None = None
    bus: int | None = None
    address: int | None = None

    def matches(self, dev: Any) -> bool:
        if self.bus is not None:
            return bool(dev.bus == self.bus and dev.address == self.address)
        if dev.idVendor != self.vendor_id or dev.idProduct != self.product_id:
            return False
        return self.serial is None or _string(dev, dev.iSerialNumber) == self.serial


def parse_url(url: str) -> UsbAddress:
    """The device a `usb://` URL names; ValueError when it names none."""
    parts = urlsplit(url)
    if parts.scheme != "usb":
        raise ValueError("expected a usb:// URL")
    where = parts.netloc + parts.path
    try:
        if "/" in where:
            bus, address = where.split("/", 1)
            return UsbAddress(bus=int(bus), address=int(address))
        vid, pid = where.split(":")
        serial = parse_qs(parts.query).get("serial", [None])[0]
        return UsbAddress(int(vid, 16), int(pid, 16), serial)
    except ValueError:
        raise ValueError("expected usb://VVVV:PPPP[?serial=...] or usb://BUS/ADDRESS") from None


def _string(dev: Any, index: int) -> str:
    if not index:
        return ""
    try:
        return str(usb.util.get_string(dev, index) or "")
    except (usb.core.USBError, ValueError, NotImplementedError):
        return ""


def _unavailable(what: str, exc: usb.core.USBError) -> DeviceUnavailable:
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "USB error")
    return DeviceUnavailable(f"{what}: {reason}")


class HidPosTransport(Transport):
    """One HID POS device: input reports in, output reports out."""

    kind = "hidpos"

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.where = parse_url(url)
        except ValueError as exc:
            raise DeviceUnavailable(f"{url}: {exc}") from None
        self._dev: Any = None
        self._intf = 0
        self._ep_in = 0
        self._ep_out: int | None = None
        self._detached = False
        self._hints: dict[str, str] = {}
        self._queue: asyncio.Queue[bytes | DeviceUnavailable] = asyncio.Queue(REPORT_QUEUE)
        self._pump: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> None:
        if self._dev is not None:
            return
        self._closing = False
        self._queue = asyncio.Queue(REPORT_QUEUE)
        await asyncio.to_thread(self._open_sync)
        self._pump = asyncio.create_task(self._read_reports(), name=f"hidpos:{self.url}")

    def _open_sync(self) -> None:
        try:
            dev = usb.core.find(backend=_backend, custom_match=self.where.matches)
        except usb.core.NoBackendError:
            raise DeviceUnavailable("no libusb on this system") from None
        except usb.core.USBError as exc:
            raise _unavailable(f"cannot enumerate USB for {self.url}", exc) from exc
        if dev is None:
            raise DeviceUnavailable(f"no USB device {self.url}")
        try:
            cfg = dev.get_active_configuration()
            intf = usb.util.find_descriptor(cfg, bInterfaceClass=HID_CLASS)
            if intf is None:
                raise DeviceUnavailable(f"{self.url} has no HID interface (not in HID POS mode?)")
            number = intf.bInterfaceNumber
            ep_in = ep_out = None
            for ep in intf:
                if usb.util.endpoint_type(ep.bmAttributes) != usb.util.ENDPOINT_TYPE_INTR:
                    continue
                if usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_IN:
                    ep_in = ep_in or ep.bEndpointAddress
                else:
                    ep_out = ep_out or ep.bEndpointAddress
            if ep_in is None:
                raise DeviceUnavailable(f"{self.url} has no interrupt IN endpoint")
            self._detached = False
            with contextlib.suppress(NotImplementedError):  # backends without kernel drivers
                if dev.is_kernel_driver_active(number):
                    dev.detach_kernel_driver(number)
                    self._detached = True
            usb.util.claim_interface(dev, number)
        except usb.core.USBError as exc:
            usb.util.dispose_resources(dev)
            raise _unavailable(f"cannot open {self.url}", exc) from exc
        self._dev, self._intf, self._ep_in, self._ep_out = dev, number, ep_in, ep_out
        self._hints = {
            "transport": self.kind,
            "node": f"usb://{dev.bus}/{dev.address}",
            "vendor_id": f"{dev.idVendor:04x}",
            "product_id": f"{dev.idProduct:04x}",
            "serial": _string(dev, dev.iSerialNumber),
            "manufacturer": _string(dev, dev.iManufacturer),
            "product": _string(dev, dev.iProduct),
            "firmware": f"{dev.bcdDevice >> 8:x}.{dev.bcdDevice & 0xFF:02x}",
        }

    async def _read_reports(self) -> None:
        while not self._closing:
            try:
                report = await asyncio.to_thread(self._read_one)
            except DeviceUnavailable as exc:
                await self._queue.put(exc)
                return
            except Exception as exc:  # pyusb surprises: surfaced to the reader, not swallowed
                await self._queue.put(DeviceUnavailable(f"{self.url}: {type(exc).__name__}"))
                return
            if report:
                await self._queue.put(report)

    def _read_one(self) -> bytes:
        """One input report, or b"" when none came within the poll interval."""
        dev = self._dev
        if dev is None:
            raise DeviceUnavailable(f"{self.url} is not open")
        try:
            return bytes(dev.read(self._ep_in, REPORT_SIZE, READ_POLL_MS))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise _unavailable(f"{self.url} went away", exc) from exc

    async def read(self) -> bytes:
        if self._dev is None and self._queue.empty():
            raise DeviceUnavailable(f"{self.url} is not open")
        item = await self._queue.get()
        if isinstance(item, DeviceUnavailable):
            self._queue.put_nowait(item)  # every later read fails the same way
            raise item
        return item

    async def write(self, data: bytes) -> None:
        """Send one output report (report id first)."""
        await asyncio.to_thread(self._write_sync, data)

    def _write_sync(self, report: bytes) -> None:
        dev = self._dev
        if dev is None:
            raise DeviceUnavailable(f"{self.url} is not open")
        try:
            if self._ep_out is not None:
                dev.write(self._ep_out, report, WRITE_TIMEOUT_MS)
            else:
                value = OUTPUT_REPORT << 8 | report[0]
                dev.ctrl_transfer(0x21, SET_REPORT, value, self._intf, report, WRITE_TIMEOUT_MS)
        except usb.core.USBError as exc:
            raise _unavailable(f"{self.url} took no output report", exc) from exc

    async def close(self) -> None:
        self._closing = True
        pump, self._pump = self._pump, None
        if pump is not None:
            # The worker's read ends within READ_POLL_MS; a pump blocked on a full queue
            # holds no thread and is simply cancelled.
            _, pending = await asyncio.wait({pump}, timeout=CLOSE_WAIT_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(pump, return_exceptions=True)
        if self._queue.empty():  # a read waiting for a report ends now, not never
            self._queue.put_nowait(DeviceUnavailable(f"{self.url} was closed"))
        dev, self._dev = self._dev, None
        if dev is not None:
            await asyncio.to_thread(self._release, dev)

    def _release(self, dev: Any) -> None:
        # The device may be gone already: nothing is left to release then.
        with contextlib.suppress(usb.core.USBError, NotImplementedError):
            usb.util.release_interface(dev, self._intf)
            if self._detached:
                dev.attach_kernel_driver(self._intf)
        with contextlib.suppress(usb.core.USBError):
            usb.util.dispose_resources(dev)

    def hints(self) -> dict[str, str]:
        return {k: v for k, v in self._hints.items() if v}
