"""Serial ports (CDC-ACM, FTDI, ptys) read from the event loop without helper threads.

pyserial opens and configures the port; reading and writing then go straight to its
non-blocking file descriptor through the loop's selector. (pyserial-asyncio-fast reconfigures
the port after open to set its timeouts, which ptys and some USB adapters refuse for 7-bit
framings such as Access-IS 7E1, so it is not used.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
from dataclasses import replace
from pathlib import Path

import serial

from drivers.base import DeviceUnavailable
from drivers.transports.base import (
    READ_CHUNK,
    WRITE_TIMEOUT_S,
    SerialSettings,
    Transport,
    os_reason,
)
from drivers.transports.fdwait import FdWaiter
from drivers.transports.sysfs import usb_hints


class SerialTransport(Transport):
    kind = "serial"

    def __init__(self, path: str, settings: SerialSettings) -> None:
        self.path = path
        self.settings = settings
        self._port: serial.Serial | None = None
        self._fd = -1
        self._waits = FdWaiter()

    async def open(self) -> None:
        if self._port is not None:
            return
        if not os.path.exists(self.path):  # noqa: ASYNC240  # one stat of a /dev node
            raise DeviceUnavailable(f"no device at {self.path}")
        try:
            try:
                port = await self._open_port(self.settings)
            except termios.error:
                # Linux refuses (EINVAL) a pty framing change it cannot apply, e.g. 7E1 again
                # on reopen; a pty ignores framing anyway (bytes pass unchanged), so open it
                # with the framing it has. A real port that refuses its settings stays refused.
                if not os.path.realpath(self.path).startswith("/dev/pts/"):  # noqa: ASYNC240  # no I/O
                    raise
                port = await self._open_port(replace(self.settings, bytesize=8, parity="N"))
        except (serial.SerialException, OSError, ValueError, termios.error) as exc:
            raise DeviceUnavailable(f"cannot open {self.path}: {os_reason(exc)}") from exc
        self._port = port
        self._fd = port.fileno()
        os.set_blocking(self._fd, False)

    async def _open_port(self, s: SerialSettings) -> serial.Serial:
        # Opening a tty can block on some USB adapters: not on the loop.
        return await asyncio.to_thread(
            serial.Serial,
            port=self.path,
            baudrate=s.baudrate,
            bytesize=s.bytesize,
            parity=s.parity,
            stopbits=s.stopbits,
            xonxoff=s.xonxoff,
            rtscts=s.rtscts,
            timeout=0,
            write_timeout=0,
            exclusive=True,
        )

    async def close(self) -> None:
        port, self._port = self._port, None
        if port is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._fd)
        loop.remove_writer(self._fd)
        self._fd = -1
        self._waits.close(self.path)
        # The device may already be gone; nothing is left to release then.
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()

    async def read(self) -> bytes:
        woke = False
        while True:
            fd = self._require()
            try:
                data = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                data = b""
            except OSError as exc:
                raise DeviceUnavailable(f"{self.path} went away ({os_reason(exc)})") from exc
            if data:
                return data
            # With VMIN=VTIME=0 a tty read returns nothing rather than EAGAIN; nothing after
            # the selector said "readable" is a hangup (pyserial reports the same).
            if woke:
                raise DeviceUnavailable(f"{self.path} went away (readable but no data)")
            await self._waits.wait(fd)
            woke = True

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                while view:
                    fd = self._require()
                    try:
                        view = view[os.write(fd, view) :]
                    except BlockingIOError:
                        await self._waits.wait(fd, writable=True)
        except TimeoutError:
            raise DeviceUnavailable(f"{self.path} took no data for {WRITE_TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise DeviceUnavailable(f"{self.path} went away ({os_reason(exc)})") from exc

    def hints(self) -> dict[str, str]:
        path = Path(self.path)
        node = os.path.realpath(path)
        hints = {"node": node, "transport": _tty_transport(node)}
        if path.is_symlink():
            hints["stable_path"] = self.path
        hints.update(usb_hints(node))
        return hints

    def _require(self) -> int:
        if self._port is None:
            raise DeviceUnavailable(f"{self.path} is not open")
        return self._fd


def _tty_transport(node: str) -> str:
    name = os.path.basename(node)
    if name.startswith("ttyACM"):
        return "cdc_acm"
    if name.startswith("ttyUSB"):
        return "usb_serial"
    if node.startswith("/dev/pts/"):
        return "pty"
    return "serial"
