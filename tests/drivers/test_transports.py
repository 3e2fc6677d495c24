"""Transports: close() is idempotent and ends a read that is waiting for the device at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from drivers.base import DeviceUnavailable
from drivers.hidpos.sim import HidPosSim
from drivers.hidpos.transport import HidPosTransport
from drivers.rte.sim import RteSim
from drivers.transports import SerialSettings, Transport, open_transport
from tests.drivers.support import WAIT_TIMEOUT_S


async def close_during_read(transport: Transport) -> None:
    await transport.open()
    reading = asyncio.create_task(transport.read())
    await asyncio.sleep(0)  # the read now waits for the device
    await transport.close()
    with pytest.raises(DeviceUnavailable, match="closed"):
        await asyncio.wait_for(reading, WAIT_TIMEOUT_S)
    await transport.close()  # idempotent
    with pytest.raises(DeviceUnavailable):
        await transport.read()


async def test_serial_close_ends_a_pending_read(tmp_path: Path) -> None:
    async with RteSim(link=tmp_path / "rte0") as sim:
        await close_during_read(open_transport(sim.url, SerialSettings()))


async def test_hidpos_close_ends_a_pending_read() -> None:
    async with HidPosSim() as sim:
        await close_during_read(HidPosTransport(sim.url))
