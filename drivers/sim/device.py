"""The device side of a simulated peripheral: the exact bytes a family sends, over a real pty.

A `SimDevice` owns a pseudo-terminal (or a loopback TCP server for socket:// URLs) and a
stable symlink to it, like /dev/serial/by-id. The host driver opens the link as it would a
real device. Controls: present a document or barcode, remove, unplug (close the pty and drop
the link), replug (a new pty behind the same link), inject garbage, split writes into
USB-sized chunks with gaps, truncate a message (a reset mid-message), fail the next N
commands. Everything the host sends is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import tty
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, ClassVar, Self

# Full-speed USB CDC delivers at most 64 bytes per packet.
USB_PACKET = 64
# A socket:// device writes only once its host connected; a host that never comes fails it.
HOST_CONNECT_TIMEOUT_S = 30.0


class SimDevice:
    """Base of every byte-level simulator; a profile fills in `encode()` and `on_host()`."""

    profile: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # The driver (entry-point name) that talks to this simulator, and the options it needs.
    driver: ClassVar[str] = ""
    # What `present()` takes: MRZ text ("document") or a barcode payload ("barcode").
    carries: ClassVar[str] = "document"
    # False where the simulated device lives inside this process only (a fake USB backend).
    standalone: ClassVar[bool] = True

    def __init__(
        self, *, link: Path | None = None, socket: bool = False, seed: int | None = None
    ) -> None:
        self.link = link
        self.use_socket = socket
        self.rng = random.Random(seed)  # noqa: S311  # chunk sizes, not cryptography
        self.host_sent = bytearray()  # everything the host ever sent
        self.inbox = bytearray()  # what the host sent that the profile has not consumed yet
        self.commands: list[bytes] = []  # the host commands the profile recognised
        self.sent = bytearray()
        self.last_write_ns = 0
        self.fail_commands = 0
        self.plugged = False
        self._chunks: tuple[int, int] | None = None
        self._gaps: tuple[float, float] = (0.0, 0.0)
        self._master = -1
        self._slave = -1
        self._server: asyncio.Server | None = None
        self._port = 0
        self._client: asyncio.StreamWriter | None = None
        self._client_ready = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the host's view -------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.use_socket:
            return f"socket://127.0.0.1:{self._port}"
        if self.link is not None:
            return str(self.link)
        return os.ttyname(self._slave)

    def options(self) -> dict[str, object]:
        """The driver options that match this simulator's settings."""
        return {}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        """Plug the device in; the URL the host opens."""
        await self.replug()
        return self.url

    async def stop(self) -> None:
        await self.unplug()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def unplug(self) -> None:
        """Pull the cable: the host's reads fail, the stable link disappears."""
        self.plugged = False
        self.on_unplug()
        if self.use_socket:
            client, self._client = self._client, None
            self._client_ready.clear()
            if client is not None:
                client.close()
            if self._server is not None:
                self._server.close()
                self._server = None
            return
        if self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)
            os.close(self._slave)
            self._master = self._slave = -1
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    async def replug(self) -> None:
        """Plug in again: a new pty (a new /dev node) behind the same stable link."""
        if self.plugged:
            await self.unplug()
        if self.use_socket:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)
            self._port = self._server.sockets[0].getsockname()[1]
        else:
            self._master, self._slave = os.openpty()
            # Raw from the start: no echo or line editing before the host configures the port.
            tty.setraw(self._slave)
            os.set_blocking(self._master, False)
            asyncio.get_running_loop().add_reader(self._master, self._host_readable)
            if self.link is not None:
                tmp = self.link.with_name(self.link.name + ".new")
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                tmp.symlink_to(os.ttyname(self._slave))
                tmp.replace(self.link)
        self.plugged = True
        self.on_plug()

    # -- controls --------------------------------------------------------------------------

    def set_chunking(
        self, sizes: tuple[int, int] | None = (1, USB_PACKET), gaps: tuple[float, float] = (0, 0)
    ) -> None:
        """Split every write into chunks of random size within `sizes`, `gaps` seconds apart."""
        self._chunks = sizes
        self._gaps = gaps

    def fail_next(self, n: int) -> None:
        """The next `n` host commands are refused (or ignored, where the family has no NAK)."""
        self.fail_commands = n

    def take_failure(self) -> bool:
        """Whether the command at hand is refused (a `fail_next` is pending); uses one up."""
        if self.fail_commands <= 0:
            return False
        self.fail_commands -= 1
        return True

    async def present(self, item: str | bytes, *, repeat: int = 1, truncate: int = 0) -> bytes:
        """Present a document or barcode: send the frame(s) the device would (returned)."""
        frame = self.encode(item)
        if truncate:
            frame = frame[:truncate]
        for _ in range(repeat):
            await self.send_read(frame)
        return frame

    async def send_read(self, frame: bytes) -> None:
        """Send one read as the device does (families that hold reads back override this)."""
        await self.write(frame)

    async def remove(self) -> None:
        """Take the document away (only devices that report removal send anything)."""

    async def inject_garbage(self, data: bytes | None = None) -> bytes:
        """Line noise: random bytes (or `data`)."""
        noise = data if data is not None else self.rng.randbytes(self.rng.randint(1, 40))
        await self.write(noise)
        return noise

    async def write(self, data: bytes) -> None:
        """Send bytes exactly, in the configured chunks."""
        async with self._write_lock:
            if not self.plugged:
                raise ConnectionError("the simulated device is unplugged")
            view = memoryview(data)
            while view:
                size = len(view) if self._chunks is None else self.rng.randint(*self._chunks)
                chunk, view = view[:size], view[size:]
                await self._write_now(bytes(chunk))
                if view and self._gaps[1] > 0:
                    await asyncio.sleep(self.rng.uniform(*self._gaps))
            self.last_write_ns = time.perf_counter_ns()
            self.sent.extend(data)

    async def _write_now(self, chunk: bytes) -> None:
        if self.use_socket:
            try:
                async with asyncio.timeout(HOST_CONNECT_TIMEOUT_S):
                    await self._client_ready.wait()
            except TimeoutError:
                raise ConnectionError("no host connected to the simulated device") from None
            if self._client is None:
                raise ConnectionError("the host disconnected")
            self._client.write(chunk)
            await self._client.drain()
            return
        view = memoryview(chunk)
        while view:
            try:
                view = view[os.write(self._master, view) :]
            except BlockingIOError:
                await asyncio.sleep(0.001)  # the host is not reading: its buffer is full

    # -- hooks -----------------------------------------------------------------------------

    def encode(self, item: str | bytes) -> bytes:
        """The exact bytes the device sends for one read."""
        raise NotImplementedError

    def on_host(self, data: bytes) -> None:
        """Bytes from the host arrived (also in `self.inbox`); reply with `self.reply(...)`."""

    def on_plug(self) -> None:
        """Called after (re)plugging."""

    def on_unplug(self) -> None:
        """Called before unplugging."""

    def reply(self, data: bytes, delay: float = 0.0) -> None:
        """Send `data` to the host soon (from a synchronous hook)."""

        async def send() -> None:
            if delay:
                await asyncio.sleep(delay)
            if self.plugged:
                await self.write(data)

        self.spawn(send(), "sim-reply")

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        """Run `coro` as a task the simulator owns (cancelled by `stop()`)."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{what}:{self.profile}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- host side plumbing ----------------------------------------------------------------

    def _host_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:
            return  # no slave open right now (EIO): nothing to read
        if data:
            self._received(data)

    def _received(self, data: bytes) -> None:
        self.host_sent.extend(data)
        self.inbox.extend(data)
        self.on_host(data)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._client is not None:
            writer.close()  # one host at a time, like a serial line
            return
        self._client = writer
        self._client_ready.set()
        try:
            while data := await reader.read(4096):
                self._received(data)
        except OSError:
            pass  # the host went away; a new connection may follow
        finally:
            if self._client is writer:
                self._client = None
                self._client_ready.clear()
            writer.close()
