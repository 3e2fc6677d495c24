"""The real evdev transport: clear errors without evdev or on a non-input node; grab, read, ungrab.

This machine has no /dev/input and no uinput, so the read path runs against a stand-in for
`evdev.InputDevice` whose descriptor is a pipe carrying the simulator's input_event records.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections import namedtuple
from pathlib import Path
from typing import Any

import evdev
import pytest

from drivers.base import DeviceUnavailable, HealthState, NotSupported
from drivers.testing import next_capture, next_event
from drivers.transports.serial_port import SerialTransport
from drivers.transports.socket_stream import SocketTransport
from drivers.wedge import transport as wedge_transport
from drivers.wedge.driver import WedgeDriver
from drivers.wedge.framer import WedgeFramer
from drivers.wedge.sim import WedgeSim
from drivers.wedge.transport import EvdevTransport
from edge.documents.mrz_gen import random_mrz
from tests.drivers.support import WAIT_TIMEOUT_S

TD2 = random_mrz(random.Random(2), "td2")
DeviceInfo = namedtuple("DeviceInfo", "bustype vendor product version")


async def test_missing_evdev_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "evdev", None)  # import evdev now raises ImportError
    driver = WedgeDriver(str(tmp_path / "event-kbd"), {"transport": "evdev"})
    with pytest.raises(DeviceUnavailable, match="evdev-binary"):
        await driver.open()
    assert driver.health().state is HealthState.ABSENT


@pytest.mark.parametrize("node", ["/dev/null", "regular-file"])
async def test_a_node_that_is_not_an_input_device(node: str, tmp_path: Path) -> None:
    if node == "regular-file":
        node = str(tmp_path / "not-a-keyboard")
        Path(node).write_text("hello")  # noqa: ASYNC240  # a test fixture file
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):  # a supervisor retries: no descriptor may leak
        with pytest.raises(DeviceUnavailable, match="not an input event device"):
            await EvdevTransport(node).open()
    assert len(os.listdir("/proc/self/fd")) == before


async def test_an_absent_node(tmp_path: Path) -> None:
    with pytest.raises(DeviceUnavailable, match="no device at"):
        await EvdevTransport(str(tmp_path / "gone")).open()


def test_the_url_picks_the_transport(tmp_path: Path) -> None:
    by_id = "/dev/input/by-id/usb-Scanner-event-kbd"
    assert isinstance(WedgeDriver(by_id).make_transport(), EvdevTransport)
    assert isinstance(WedgeDriver("socket://127.0.0.1:9").make_transport(), SocketTransport)
    assert isinstance(WedgeDriver(str(tmp_path / "pty")).make_transport(), SerialTransport)
    forced = WedgeDriver(str(tmp_path / "kbd"), {"transport": "evdev", "grab": False})
    made = forced.make_transport()
    assert isinstance(made, EvdevTransport) and not made.grab


class FakeInputDevice:
    """Just enough of evdev.InputDevice; reads come from a pipe."""

    opened: list[FakeInputDevice] = []  # noqa: RUF012  # test bookkeeping
    leds_on: list[int] = []  # noqa: RUF012  # test bookkeeping
    keys = True

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd, self.feed_fd = os.pipe()
        self.info = DeviceInfo(3, 0x0C2E, 0x0B87, 0x111)
        self.name = "Honeywell Imaging 1950g"
        self.uniq = "21123B4C5D"
        self.calls: list[str] = []
        FakeInputDevice.opened.append(self)

    def capabilities(self) -> dict[int, list[int]]:
        return {evdev.ecodes.EV_SYN: [], evdev.ecodes.EV_KEY: [30]} if self.keys else {0: []}

    def leds(self) -> list[int]:
        return list(self.leds_on)

    def grab(self) -> None:
        self.calls.append("grab")

    def ungrab(self) -> None:
        self.calls.append("ungrab")

    def close(self) -> None:
        self.calls.append("close")
        os.close(self.fd)


@pytest.fixture
def fake_evdev(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    FakeInputDevice.opened.clear()
    FakeInputDevice.leds_on = []
    FakeInputDevice.keys = True
    monkeypatch.setattr(evdev, "InputDevice", FakeInputDevice)
    monkeypatch.setattr(wedge_transport, "check_input_node", lambda path: None)
    node = tmp_path / "event7"
    node.touch()
    link = tmp_path / "usb-Honeywell_Imaging-event-kbd"
    link.symlink_to(node)
    return link


async def test_grabbed_node_is_read_and_released(fake_evdev: Path) -> None:
    sim = WedgeSim(layout="de")  # only its encoder: the bytes go through the pipe
    driver = WedgeDriver(str(fake_evdev), {"transport": "evdev", "layout": "de"})
    await driver.open()
    try:
        (device,) = FakeInputDevice.opened
        assert device.calls == ["grab"]
        identity = driver.identify()
        assert identity.transport == "hid_kbd"
        assert (identity.vendor_id, identity.product_id) == ("0c2e", "0b87")
        assert identity.product == "Honeywell Imaging 1950g"
        assert identity.stable_path == str(fake_evdev)
        assert driver.host_hints["grab"] == "exclusive"
        blob = sim.encode(TD2)
        os.write(device.feed_fd, blob)
        capture, notices = await next_capture(driver.events())
        assert not notices and capture.text == TD2 and capture.raw == blob
        with pytest.raises(NotSupported):
            await driver.send(b"x")
        os.close(device.feed_fd)  # unplugged: the node reads end of file
        with pytest.raises(DeviceUnavailable, match="went away"):
            await next_event(driver.events())
    finally:
        await driver.close()
    assert device.calls == ["grab", "ungrab", "close"]


async def test_caps_lock_led_at_open_reaches_the_decoder(fake_evdev: Path) -> None:
    FakeInputDevice.leds_on = [evdev.ecodes.LED_CAPSL]
    driver = WedgeDriver(str(fake_evdev), {"transport": "evdev"})
    async with driver:
        assert driver.host_hints["caps_lock"] == "on"
        framer = driver.make_framer()
        assert isinstance(framer, WedgeFramer) and framer.initial_caps


async def test_a_node_without_keys_is_refused_and_closed(fake_evdev: Path) -> None:
    FakeInputDevice.keys = False
    with pytest.raises(DeviceUnavailable, match="no keys"):
        await EvdevTransport(str(fake_evdev)).open()
    (device,) = FakeInputDevice.opened
    assert device.calls == ["close"]
    os.close(device.feed_fd)


async def test_a_node_another_program_grabbed(
    fake_evdev: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(self: Any) -> None:
        raise OSError(16, "Device or resource busy")

    monkeypatch.setattr(FakeInputDevice, "grab", busy)
    with pytest.raises(DeviceUnavailable, match="another program holds it"):
        await EvdevTransport(str(fake_evdev)).open()
    (device,) = FakeInputDevice.opened
    assert device.calls == ["close"]
    os.close(device.feed_fd)


async def test_close_ends_a_pending_read_at_once(fake_evdev: Path) -> None:
    transport = EvdevTransport(str(fake_evdev))
    await transport.open()
    reading = asyncio.create_task(transport.read())
    await asyncio.sleep(0)  # the read now waits for the node to become readable
    await transport.close()
    with pytest.raises(DeviceUnavailable, match="closed"):
        await asyncio.wait_for(reading, WAIT_TIMEOUT_S)
    await transport.close()  # idempotent
