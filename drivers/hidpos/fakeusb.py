"""A pyusb backend with simulated HID POS scanners on it: real descriptors, reports, unplug.

pyusb talks to it exactly as to libusb: `usb.core.find()` enumerates it, reads the device,
configuration, interface and endpoint descriptors and the string descriptors through control
transfers; the transport claims the interface and reads the interrupt IN endpoint from a
worker thread. A device that is unplugged disappears from enumeration and every handle on it
fails with ENODEV, as libusb reports a device that went away.
"""

from __future__ import annotations

import array
import collections
import errno
import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import usb.backend
import usb.core

# Honeywell's vendor id; the product id is an EXAMPLE of a HID POS interface (Honeywell
# assigns PIDs per model and interface mode: match on VID + HID class, hardware.md §1).
VENDOR_ID = 0x0C2E
PRODUCT_ID = 0x0B87
IN_EP, OUT_EP = 0x81, 0x02
REPORT_SIZE = 64
HID_CLASS = 3
# A HID POS report descriptor: Bar Code Scanner page (0x8C); input report 2 (63 bytes after
# the id), output report 4 (trigger / beep, 1 byte) and output report 253 (63 bytes).
REPORT_DESCRIPTOR = bytes.fromhex(
    "058c 0902 a101"
    "8502 1500 26ff00 7508 953f 09fe 8102"
    "8504 9501 09ff 9102"
    "85fd 953f 09fd 9102"
    "c0".replace(" ", "")
)
HID_DESCRIPTOR = bytes([9, 0x21, 0x11, 0x01, 0, 1, 0x22, len(REPORT_DESCRIPTOR), 0])
GET_DESCRIPTOR, SET_REPORT = 0x06, 0x09
DT_DEVICE, DT_CONFIG, DT_STRING, DT_REPORT = 1, 2, 3, 0x22
LANG_EN_US = 0x0409


def usb_error(code: int, text: str) -> usb.core.USBError:
    return usb.core.USBError(text, errno=code)


@dataclass
class Desc:
    """A descriptor as pyusb reads it from a backend: plain attributes."""

    fields: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class FakeUsbDevice:
    """One simulated HID POS scanner on the fake bus."""

    serial: str
    manufacturer: str = "Honeywell"
    product: str = "Simulated HID POS scanner"
    out_endpoint: bool = True  # else output reports go by SET_REPORT on endpoint 0
    bus: int = 1
    address: int = 0
    plugged: bool = False
    generation: int = 0
    kernel_driver: bool = True  # usbhid binds a fresh device
    claimed_by: object | None = None
    on_output: Callable[[bytes], None] | None = None  # called from the reading thread
    reports: collections.deque[bytes] = field(default_factory=collections.deque)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def strings(self) -> dict[int, str]:
        return {1: self.manufacturer, 2: self.product, 3: self.serial}

    def device_descriptor(self) -> Desc:
        return Desc(
            {
                "bLength": 18,
                "bDescriptorType": DT_DEVICE,
                "bcdUSB": 0x0200,
                "bDeviceClass": 0,
                "bDeviceSubClass": 0,
                "bDeviceProtocol": 0,
                "bMaxPacketSize0": 64,
                "idVendor": VENDOR_ID,
                "idProduct": PRODUCT_ID,
                "bcdDevice": 0x0100,
                "iManufacturer": 1,
                "iProduct": 2,
                "iSerialNumber": 3,
                "bNumConfigurations": 1,
                "address": self.address,
                "bus": self.bus,
                "port_number": 1,
                "port_numbers": (1,),
                "speed": 2,  # full speed
            }
        )

    def endpoints(self) -> list[int]:
        return [IN_EP, OUT_EP] if self.out_endpoint else [IN_EP]

    def push(self, reports: Iterable[bytes]) -> None:
        """Input reports the scanner sends (delivered in order, one per interrupt read)."""
        with self.cond:
            self.reports.extend(reports)
            self.cond.notify_all()

    def set_plugged(self, plugged: bool, address: int = 0) -> None:
        with self.cond:
            self.plugged = plugged
            self.generation += 1
            self.claimed_by = None
            self.reports.clear()
            if plugged:
                self.address = address
                self.kernel_driver = True
            self.cond.notify_all()  # readers on the old connection see ENODEV


@dataclass(eq=False)  # two opens of one device are two handles
class Handle:
    device: FakeUsbDevice
    generation: int


class FakeBackend(usb.backend.IBackend):  # type: ignore[misc]  # pyusb ships no types
    """The fake bus: pyusb's backend interface over simulated devices."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._devices: list[FakeUsbDevice] = []
        self._addresses = itertools.count(2)

    def plug(self, device: FakeUsbDevice) -> None:
        with self._lock:
            if device not in self._devices:
                self._devices.append(device)
            address = next(self._addresses)
        device.set_plugged(True, address)

    def unplug(self, device: FakeUsbDevice) -> None:
        with self._lock:
            if device in self._devices:
                self._devices.remove(device)
        device.set_plugged(False)

    # -- enumeration and descriptors --------------------------------------------------------

    def enumerate_devices(self) -> list[FakeUsbDevice]:
        with self._lock:
            return [d for d in self._devices if d.plugged]

    def get_device_descriptor(self, dev: FakeUsbDevice) -> Desc:
        return dev.device_descriptor()

    def get_configuration_descriptor(self, dev: FakeUsbDevice, config: int) -> Desc:
        total = 9 + 9 + len(HID_DESCRIPTOR) + 7 * len(dev.endpoints())
        return Desc(
            {
                "bLength": 9,
                "bDescriptorType": DT_CONFIG,
                "wTotalLength": total,
                "bNumInterfaces": 1,
                "bConfigurationValue": 1,
                "iConfiguration": 0,
                "bmAttributes": 0x80,
                "bMaxPower": 250,
                "extra_descriptors": [],
            }
        )

    def get_interface_descriptor(
        self, dev: FakeUsbDevice, intf: int, alt: int, config: int
    ) -> Desc:
        if intf != 0 or alt != 0:
            raise IndexError("no such interface")
        return Desc(
            {
                "bLength": 9,
                "bDescriptorType": 4,
                "bInterfaceNumber": 0,
                "bAlternateSetting": 0,
                "bNumEndpoints": len(dev.endpoints()),
                "bInterfaceClass": HID_CLASS,
                "bInterfaceSubClass": 0,
                "bInterfaceProtocol": 0,
                "iInterface": 0,
                "extra_descriptors": list(HID_DESCRIPTOR),
            }
        )

    def get_endpoint_descriptor(
        self, dev: FakeUsbDevice, ep: int, intf: int, alt: int, config: int
    ) -> Desc:
        return Desc(
            {
                "bLength": 7,
                "bDescriptorType": 5,
                "bEndpointAddress": dev.endpoints()[ep],
                "bmAttributes": 3,  # interrupt
                "wMaxPacketSize": REPORT_SIZE,
                "bInterval": 1,
                "bRefresh": 0,
                "bSynchAddress": 0,
                "extra_descriptors": [],
            }
        )

    # -- handles ----------------------------------------------------------------------------

    def open_device(self, dev: FakeUsbDevice) -> Handle:
        with dev.cond:
            if not dev.plugged:
                raise usb_error(errno.ENODEV, "No such device (it may have been disconnected)")
            return Handle(dev, dev.generation)

    def close_device(self, handle: Handle) -> None:
        self.release_interface(handle, 0, quiet=True)

    def _live(self, handle: Handle) -> FakeUsbDevice:
        dev = handle.device
        if not dev.plugged or handle.generation != dev.generation:
            raise usb_error(errno.ENODEV, "No such device (it may have been disconnected)")
        return dev

    def set_configuration(self, handle: Handle, config_value: int) -> None:
        self._live(handle)

    def get_configuration(self, handle: Handle) -> int:
        self._live(handle)
        return 1

    def set_interface_altsetting(self, handle: Handle, intf: int, alt: int) -> None:
        self._live(handle)

    def claim_interface(self, handle: Handle, intf: int) -> None:
        dev = self._live(handle)
        with dev.cond:
            if dev.kernel_driver or (dev.claimed_by is not None and dev.claimed_by is not handle):
                raise usb_error(errno.EBUSY, "Resource busy")
            dev.claimed_by = handle

    def release_interface(self, handle: Handle, intf: int, quiet: bool = False) -> None:
        dev = handle.device
        with dev.cond:
            if dev.claimed_by is handle:
                dev.claimed_by = None
            elif not quiet and handle.generation != dev.generation:
                raise usb_error(errno.ENODEV, "No such device (it may have been disconnected)")

    def is_kernel_driver_active(self, handle: Handle, intf: int) -> bool:
        return self._live(handle).kernel_driver

    def detach_kernel_driver(self, handle: Handle, intf: int) -> None:
        self._live(handle).kernel_driver = False

    def attach_kernel_driver(self, handle: Handle, intf: int) -> None:
        self._live(handle).kernel_driver = True

    def clear_halt(self, handle: Handle, ep: int) -> None:
        self._live(handle)

    def reset_device(self, handle: Handle) -> None:
        self._live(handle)

    # -- transfers --------------------------------------------------------------------------

    def intr_read(
        self, handle: Handle, ep: int, intf: int, buff: array.array[int], timeout: int
    ) -> int:
        dev = self._live(handle)
        with dev.cond:
            if dev.claimed_by is not handle:
                raise usb_error(errno.EBUSY, "Resource busy")
            ready = dev.cond.wait_for(
                lambda: bool(dev.reports) or handle.generation != dev.generation,
                (timeout or 1000) / 1000,
            )
            if handle.generation != dev.generation:
                raise usb_error(errno.ENODEV, "No such device (it may have been disconnected)")
            if not ready:
                raise usb.core.USBTimeoutError("Operation timed out", error_code=-7, errno=110)
            report = dev.reports.popleft()
        buff[: len(report)] = array.array("B", report)
        return len(report)

    def intr_write(
        self, handle: Handle, ep: int, intf: int, data: array.array[int], timeout: int
    ) -> int:
        dev = self._live(handle)
        if ep != OUT_EP or not dev.out_endpoint:
            raise usb_error(errno.EPIPE, "Pipe error")
        self._output(dev, bytes(data))
        return len(data)

    def ctrl_transfer(
        self,
        handle: Handle,
        request_type: int,
        request: int,
        value: int,
        index: int,
        data: array.array[int],
        timeout: int,
    ) -> int:
        dev = self._live(handle)
        if request_type & 0x80 and request == GET_DESCRIPTOR:
            reply = self._descriptor(dev, value >> 8, value & 0xFF)
            n = min(len(reply), len(data))
            data[:n] = array.array("B", reply[:n])
            return n
        if request_type == 0x21 and request == SET_REPORT and value >> 8 == 2:
            self._output(dev, bytes(data))
            return len(data)
        raise usb_error(errno.EPIPE, "Pipe error")  # a request this device stalls

    def _descriptor(self, dev: FakeUsbDevice, kind: int, index: int) -> bytes:
        if kind == DT_STRING:
            if index == 0:
                return bytes([4, DT_STRING]) + LANG_EN_US.to_bytes(2, "little")
            text = dev.strings().get(index)
            if text is None:
                raise usb_error(errno.EPIPE, "Pipe error")
            encoded = text.encode("utf-16-le")
            return bytes([2 + len(encoded), DT_STRING]) + encoded
        if kind == DT_REPORT:
            return REPORT_DESCRIPTOR
        if kind == DT_DEVICE:
            d = dev.device_descriptor()
            return (
                bytes([18, DT_DEVICE, 0, 2, 0, 0, 0, 64])
                + b"".join(v.to_bytes(2, "little") for v in (d.idVendor, d.idProduct, d.bcdDevice))
                + bytes([1, 2, 3, 1])
            )
        raise usb_error(errno.EPIPE, "Pipe error")

    def _output(self, dev: FakeUsbDevice, report: bytes) -> None:
        if dev.on_output is not None:
            dev.on_output(report)


_BUS: FakeBackend | None = None


def fake_bus() -> FakeBackend:
    """The process-wide fake bus every HidPosSim plugs into."""
    global _BUS  # noqa: PLW0603  # one simulated bus per process, like the real one
    if _BUS is None:
        _BUS = FakeBackend()
    return _BUS
