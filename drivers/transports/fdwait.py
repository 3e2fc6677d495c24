"""Waiting on a non-blocking file descriptor through the loop's selector, ended by a close."""

from __future__ import annotations

import asyncio

from drivers.base import DeviceUnavailable


class FdWaiter:
    """The waits of one transport on its fd; `close()` ends every pending one at once."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Future[None]] = set()

    async def wait(self, fd: int, *, writable: bool = False) -> None:
        """Until `fd` is readable (or writable); DeviceUnavailable once `close()` is called."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not waiter.done():
                waiter.set_result(None)

        add, remove = (
            (loop.add_writer, loop.remove_writer)
            if writable
            else (loop.add_reader, loop.remove_reader)
        )
        add(fd, wake)
        self._pending.add(waiter)
        try:
            await waiter
        finally:
            self._pending.discard(waiter)
            remove(fd)

    def close(self, what: str) -> None:
        """Wake every pending wait with DeviceUnavailable (`what` was closed)."""
        for waiter in self._pending:
            if not waiter.done():
                waiter.set_exception(DeviceUnavailable(f"{what} was closed"))
