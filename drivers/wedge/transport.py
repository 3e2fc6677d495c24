"""A keyboard's evdev node, grabbed, read as raw `struct input_event` bytes from the event loop.

python-evdev is an optional extra (`midas-edge[wedge]`, the `evdev-binary` wheel) imported
only when a node is opened. The node is checked to be an input device before evdev opens it
(evdev leaks its descriptor when the ioctls fail), must have keys, and is grabbed (EVIOCGRAB)
so the scanner's keystrokes never reach the officer's focused application.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
from pathlib import Path
from typing import Any

from drivers.base import DeviceUnavailable, NotSupported
from drivers.transports import Transport
from drivers.transports.base import os_reason
from drivers.transports.fdwait import FdWaiter
from drivers.transports.sysfs import usb_hints
from drivers.wedge.framer import EVENT

EVIOCGVERSION = 0x80044501  # _IOR('E', 0x01, int)
EVIOCSCLOCKID = 0x400445A0  # _IOW('E', 0xa0, int)
CLOCK_MONOTONIC = 1
EV_KEY = 0x01
LED_CAPSL = 1
# The kernel hands out whole events only, and at least one per read.
READ_SIZE = EVENT.size * 64
INSTALL_HINT = "install the wedge extra: pip install 'midas-edge[wedge]' (package evdev-binary)"


def load_evdev() -> Any:
    """The evdev module; DeviceUnavailable saying what to install when it is missing."""
    try:
        import evdev  # noqa: PLC0415  # optional extra, imported only to open a real node
    except ImportError as exc:
        raise DeviceUnavailable(f"python-evdev is not installed: {INSTALL_HINT}") from exc
    return evdev


def check_input_node(path: str) -> None:
    """DeviceUnavailable unless `path` is an evdev node this process may read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise DeviceUnavailable(f"no device at {path}") from None
    except OSError as exc:
        raise DeviceUnavailable(f"cannot open {path}: {os_reason(exc)}") from exc
    try:
        fcntl.ioctl(fd, EVIOCGVERSION, struct.pack("i", 0))
    except OSError as exc:
        raise DeviceUnavailable(
            f"{path} is not an input event device (expected /dev/input/event* or "
            "/dev/input/by-id/...-event-kbd)"
        ) from exc
    finally:
        os.close(fd)


class EvdevTransport(Transport):
    """Reads one grabbed evdev node; keyboards take no data, so `write()` is refused."""

    kind = "hid_kbd"

    def __init__(self, path: str, *, grab: bool = True) -> None:
        self.path = path
        self.grab = grab
        self._device: Any = None
        self._fd = -1
        self._hints: dict[str, str] = {}
        self._waits = FdWaiter()

    async def open(self) -> None:
        if self._device is not None:
            return
        evdev = load_evdev()
        check_input_node(self.path)
        try:
            device = evdev.InputDevice(self.path)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot open {self.path}: {os_reason(exc)}") from exc
        try:
            if EV_KEY not in device.capabilities():
                raise DeviceUnavailable(f"{self.path} has no keys: not a keyboard wedge")
            if self.grab:
                try:
                    device.grab()
                except OSError as exc:
                    raise DeviceUnavailable(
                        f"cannot grab {self.path}: another program holds it ({os_reason(exc)})"
                    ) from exc
            self._hints = self._identity(device)
        except BaseException:
            device.close()
            raise
        self._device = device
        self._fd = device.fd
        os.set_blocking(self._fd, False)
        # Event times from the monotonic clock: a wall-clock step must not look like a pause.
        with contextlib.suppress(OSError):
            fcntl.ioctl(self._fd, EVIOCSCLOCKID, struct.pack("i", CLOCK_MONOTONIC))

    async def close(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        asyncio.get_running_loop().remove_reader(self._fd)
        self._fd = -1
        self._waits.close(self.path)
        # An unplugged device is already released; nothing is left to undo then.
        with contextlib.suppress(OSError):
            if self.grab:
                device.ungrab()
        with contextlib.suppress(OSError):
            device.close()

    async def read(self) -> bytes:
        while True:
            if self._device is None:
                raise DeviceUnavailable(f"{self.path} is not open")
            try:
                data = os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                data = None
            except OSError as exc:
                raise DeviceUnavailable(f"{self.path} went away ({os_reason(exc)})") from exc
            if data:
                return data
            if data is not None:  # end of file: the node was removed
                raise DeviceUnavailable(f"{self.path} went away")
            await self._waits.wait(self._fd)

    async def write(self, data: bytes) -> None:
        raise NotSupported("a keyboard wedge takes no data from the host")

    def hints(self) -> dict[str, str]:
        return dict(self._hints)

    def _identity(self, device: Any) -> dict[str, str]:
        node = os.path.realpath(self.path)
        hints = {"node": node, "transport": self.kind, "grab": "exclusive" if self.grab else "no"}
        if Path(self.path).is_symlink():
            hints["stable_path"] = self.path
        hints.update(usb_hints(node))
        info = device.info
        hints["vendor_id"] = f"{info.vendor:04x}"
        hints["product_id"] = f"{info.product:04x}"
        if device.name:
            hints.setdefault("product", str(device.name))
        if device.uniq:
            hints.setdefault("serial", str(device.uniq))
        # The Caps Lock LED as the host left it: grabbed, nobody else can change it.
        hints["caps_lock"] = "on" if LED_CAPSL in device.leds() else "off"
        return hints
