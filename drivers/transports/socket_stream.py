"""socket://host:port: a device behind a serial-to-TCP bridge, or a simulator."""

from __future__ import annotations

import asyncio
import contextlib

from drivers.base import DeviceUnavailable
from drivers.transports.base import READ_CHUNK, WRITE_TIMEOUT_S, Transport

CONNECT_TIMEOUT_S = 3.0


class SocketTransport(Transport):
    kind = "socket"

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    async def open(self) -> None:
        if self._writer is not None:
            return
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise DeviceUnavailable(f"cannot connect to {self.url}") from exc

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError):  # the peer is already gone
            await writer.wait_closed()

    async def read(self) -> bytes:
        if self._reader is None:
            raise DeviceUnavailable(f"{self.url} is not open")
        try:
            data = await self._reader.read(READ_CHUNK)
        except OSError as exc:
            raise DeviceUnavailable(f"{self.url} went away") from exc
        if not data:
            raise DeviceUnavailable(f"{self.url} closed the connection")
        return data

    async def write(self, data: bytes) -> None:
        if self._writer is None:
            raise DeviceUnavailable(f"{self.url} is not open")
        try:
            self._writer.write(data)
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await self._writer.drain()
        except (OSError, TimeoutError) as exc:
            raise DeviceUnavailable(f"{self.url} took no data") from exc

    def hints(self) -> dict[str, str]:
        return {"node": self.url, "transport": "socket"}
