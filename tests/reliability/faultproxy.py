"""An asyncio TCP fault proxy on 127.0.0.1 in front of a server, switchable at run time.

Modes (`FaultProxy.set(mode)`, or a `flap()` script of timed periods):

    PASS       forward both ways
    BLACKHOLE  accept and read, never forward nor answer (a half-open link): bytes are dropped
    REFUSE     the listener is closed (connection refused) and open connections are reset
    RESET      a connection is reset (SO_LINGER 0, close) after `reset_after` request bytes
    LATENCY    every chunk waits `latency` + uniform(0, `jitter`) seconds before it goes on
    LOST_ACK   the request reaches the server, which commits and answers; the answer is dropped
               and the client's connection reset before a byte of it reaches the client

Bounded: at most `max_connections` at once (more are reset at once), and the proxy stops by
itself after `lifetime` seconds. `answers` counts server answers seen, `lost_acks` the dropped
ones; `answer_seen` is set at each answer (tests kill a client while one is held back).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Sequence
from enum import StrEnum
from types import TracebackType
from typing import Self

CHUNK = 64 * 1024
CONNECT_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 2.0


class Mode(StrEnum):
    PASS = "pass"
    BLACKHOLE = "blackhole"
    REFUSE = "refuse"
    RESET = "reset"
    LATENCY = "latency"
    LOST_ACK = "lost_ack"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST instead of a FIN (SO_LINGER on, 0 s)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Listens on 127.0.0.1 (`port`, chosen at start) and forwards to `upstream` host:port."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        lifetime: float = 120.0,
        max_connections: int = 64,
        latency: float = 0.2,
        jitter: float = 0.05,
        reset_after: int = 512,
        seed: int = 0,
    ) -> None:
        self.upstream = upstream
        self.lifetime = lifetime
        self.max_connections = max_connections
        self.latency = latency
        self.jitter = jitter
        self.reset_after = reset_after
        self.mode = Mode.PASS
        self.port = 0
        self.history: list[Mode] = [Mode.PASS]
        self.connections = 0  # accepted in total
        self.answers = 0
        self.lost_acks = 0
        self.resets = 0
        self.answer_seen = asyncio.Event()
        self._rng = random.Random(seed)  # fault timing, not cryptography
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._timer: asyncio.Task[None] | None = None
        self._flapper: asyncio.Task[None] | None = None
        self.stopped = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        await self._listen()
        self._timer = asyncio.create_task(self._expire(), name="faultproxy:lifetime")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            # Not wait_closed(): it waits for every handler, including held (blackholed) ones.

    async def _expire(self) -> None:
        await asyncio.sleep(self.lifetime)
        await self.stop()

    async def stop(self) -> None:
        """Close the listener and every connection (idempotent)."""
        if self._flapper is not None:
            self._flapper.cancel()
        await self._unlisten()
        for writer in list(self._writers):
            _reset(writer)
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.wait(list(self._conns), timeout=CLOSE_TIMEOUT_S)
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self.stopped.set()

    async def set(self, mode: Mode) -> None:
        """Switch the mode for new and open connections."""
        if self.stopped.is_set():
            return
        previous, self.mode = self.mode, mode
        if mode is not previous:
            self.history.append(mode)
        if mode is Mode.REFUSE:
            await self._unlisten()
            for writer in list(self._writers):
                _reset(writer)
        elif self._server is None:
            await self._listen()

    def flap(self, periods: Sequence[tuple[Mode, float]], cycles: int = 1) -> asyncio.Task[None]:
        """Run `periods` (mode, seconds) `cycles` times, then PASS; the task it returns."""

        async def script() -> None:
            for _ in range(cycles):
                for mode, seconds in periods:
                    await self.set(mode)
                    await asyncio.sleep(seconds)
            await self.set(Mode.PASS)

        self._flapper = asyncio.create_task(script(), name="faultproxy:flap")
        return self._flapper

    # -- connections -------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if len(self._conns) >= self.max_connections or self.mode is Mode.REFUSE:
            _reset(writer)
            return
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            self._conns.discard(task)
            self._writers.discard(writer)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.BLACKHOLE:
            while await reader.read(CHUNK):
                pass
            return
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers.add(up_writer)
        try:
            done = asyncio.Event()
            tasks = [
                asyncio.create_task(
                    self._pipe(reader, up_writer, writer, upstream=True, done=done)
                ),
                asyncio.create_task(
                    self._pipe(up_reader, writer, writer, upstream=False, done=done)
                ),
            ]
            try:
                await done.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._writers.discard(up_writer)
            up_writer.transport.abort()

    async def _pipe(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
        *,
        upstream: bool,
        done: asyncio.Event,
    ) -> None:
        sent = 0
        try:
            while True:
                data = await src.read(CHUNK)
                if not data:
                    return
                if not upstream:
                    self.answers += 1
                    self.answer_seen.set()
                mode = self.mode
                if mode is Mode.BLACKHOLE:
                    continue  # the link ate it
                if mode is Mode.LATENCY:
                    await asyncio.sleep(self.latency + self._rng.uniform(0, self.jitter))
                elif mode is Mode.RESET and upstream and sent + len(data) > self.reset_after:
                    keep = max(0, self.reset_after - sent)
                    dst.write(data[:keep])
                    self.resets += 1
                    _reset(client)
                    return
                elif mode is Mode.LOST_ACK and not upstream:
                    self.lost_acks += 1
                    _reset(client)
                    return
                dst.write(data)
                sent += len(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            return
        finally:
            done.set()
