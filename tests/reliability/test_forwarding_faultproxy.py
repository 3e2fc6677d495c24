"""The fault proxy's modes, against an echo server that counts what reached it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.reliability.faultproxy import FaultProxy, Mode

WAIT_S = 5.0
# How long a test waits to conclude that nothing comes back (only for absence checks).
SILENCE_S = 0.3


class Echo:
    """An echo server on 127.0.0.1 that counts the bytes it received."""

    def __init__(self) -> None:
        self.received = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1024):
                self.received += len(data)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    server = Echo()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server


@pytest.fixture
async def proxy(echo: Echo) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(("127.0.0.1", echo.port), lifetime=30, latency=0.1, jitter=0.0) as p:
        yield p


async def roundtrip(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(WAIT_S):
            return await reader.readexactly(len(data))
    finally:
        writer.close()


async def test_pass_forwards_both_ways(proxy: FaultProxy, echo: Echo) -> None:
    assert await roundtrip(proxy.port, b"hello") == b"hello"
    assert echo.received == 5
    assert proxy.answers >= 1


async def test_blackhole_accepts_and_never_answers(proxy: FaultProxy, echo: Echo) -> None:
    await proxy.set(Mode.BLACKHOLE)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"anyone?")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(10), SILENCE_S)
    writer.close()
    assert echo.received == 0
    await proxy.set(Mode.PASS)
    assert await roundtrip(proxy.port, b"back") == b"back"


async def test_refuse_closes_the_listener_and_reopens_it(proxy: FaultProxy) -> None:
    await proxy.set(Mode.REFUSE)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", proxy.port)
    await proxy.set(Mode.PASS)
    assert await roundtrip(proxy.port, b"again") == b"again"


async def test_reset_mid_stream(proxy: FaultProxy, echo: Echo) -> None:
    proxy.reset_after = 100
    await proxy.set(Mode.RESET)
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await roundtrip(proxy.port, b"x" * 1000)
    assert proxy.resets == 1
    assert echo.received <= 100


async def test_latency_delays_and_delivers(proxy: FaultProxy) -> None:
    await proxy.set(Mode.LATENCY)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await roundtrip(proxy.port, b"slow") == b"slow"
    assert loop.time() - started >= 0.2  # one delay each way: a lower bound, never flaky


async def test_lost_ack_reaches_the_server_and_drops_its_answer(
    proxy: FaultProxy, echo: Echo
) -> None:
    await proxy.set(Mode.LOST_ACK)
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await roundtrip(proxy.port, b"commit me")
    assert echo.received == 9
    assert proxy.lost_acks == 1


async def test_flapping_follows_its_script_then_passes(proxy: FaultProxy) -> None:
    task = proxy.flap([(Mode.REFUSE, 0.05), (Mode.PASS, 0.05)], cycles=2)
    await asyncio.wait_for(task, WAIT_S)
    assert proxy.history == [Mode.PASS, Mode.REFUSE, Mode.PASS, Mode.REFUSE, Mode.PASS]
    assert await roundtrip(proxy.port, b"up") == b"up"


async def test_bounded_connections_and_lifetime(echo: Echo) -> None:
    async with FaultProxy(("127.0.0.1", echo.port), lifetime=0.5, max_connections=1) as proxy:
        await proxy.set(Mode.BLACKHOLE)
        held = await asyncio.open_connection("127.0.0.1", proxy.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            async with asyncio.timeout(WAIT_S):
                await reader.readexactly(1)  # the second connection is reset at once
        writer.close()
        await asyncio.wait_for(proxy.stopped.wait(), WAIT_S)  # it stops by itself
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", proxy.port)
        held[1].close()
