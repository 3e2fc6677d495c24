"""The transport contract and the factory that picks one from a device URL."""

from __future__ import annotations

import errno
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from urllib.parse import urlsplit

from drivers.base import DeviceUnavailable

# A write that the device does not take within this time means the device is gone or stuck.
WRITE_TIMEOUT_S = 2.0
READ_CHUNK = 4096
# Errors that mean the device is gone (unplugged, pty master closed, USB reset).
GONE_ERRNOS = frozenset({errno.EIO, errno.ENODEV, errno.ENXIO, errno.EBADF, errno.EPIPE})


def os_reason(exc: BaseException) -> str:
    """Why an OS call on a device failed, in a few words (never the data it carried)."""
    if isinstance(exc, OSError) and exc.errno in GONE_ERRNOS:
        return os.strerror(exc.errno)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """Line settings, all applied at open (ptys and some adapters refuse changes after)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"  # N, E, O, M, S
    stopbits: float = 1
    xonxoff: bool = False
    rtscts: bool = False


class Transport(ABC):
    """Bytes in and out of one device; `read()` raises DeviceUnavailable when it goes away."""

    kind: str = ""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None:
        """Idempotent."""

    @abstractmethod
    async def read(self) -> bytes:
        """The next chunk the device sent (never empty)."""

    @abstractmethod
    async def write(self, data: bytes) -> None: ...

    def hints(self) -> dict[str, str]:
        """What the transport knows of the device: node, stable path, USB ids."""
        return {}


def open_transport(url: str, settings: SerialSettings) -> Transport:
    """The transport for a device path or socket:// URL (not yet opened)."""
    # Imported here: both modules import this one for the contract.
    from drivers.transports.serial_port import SerialTransport  # noqa: PLC0415  # cycle
    from drivers.transports.socket_stream import SocketTransport  # noqa: PLC0415  # cycle

    if url.startswith("/"):
        return SerialTransport(url, settings)
    parts = urlsplit(url)
    if parts.scheme == "socket":
        if not parts.hostname or parts.port is None:
            raise DeviceUnavailable("socket:// URL without host and port")
        return SocketTransport(parts.hostname, parts.port)
    raise DeviceUnavailable(f"no byte transport for {parts.scheme or 'this'} URLs")
