"""StreamDriver: what the reader task meets reaches the consumer; nothing is swallowed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from drivers.access.driver import AccessStxDriver
from drivers.barcode.driver import BarcodeSerialDriver
from drivers.base import HealthState
from drivers.framing import Frame
from drivers.mrzline.driver import MrzLineDriver
from drivers.rte.driver import RteDriver
from drivers.rte.sim import RteSim
from drivers.stream import DocumentReader, StreamDriver
from drivers.testing import next_event


class BuggyFramer:
    """A framer with a bug: any byte makes it raise."""

    def feed(self, data: bytes) -> list[Frame]:
        raise RuntimeError("framer bug")

    def idle(self) -> list[Frame]:
        return []

    def pending(self) -> bool:
        return False

    def reset(self) -> None:
        return None


class BuggyDriver(DocumentReader):
    name: ClassVar[str] = "buggy"

    def make_framer(self) -> BuggyFramer:
        return BuggyFramer()


async def test_a_reader_crash_reaches_the_consumer_instead_of_a_silent_hang() -> None:
    async with RteSim(socket=True) as sim, BuggyDriver(sim.url) as driver:
        await sim.inject_garbage(b"x")
        with pytest.raises(RuntimeError, match="framer bug"):
            await next_event(driver.events())
        with pytest.raises(RuntimeError, match="framer bug"):  # again, not a hang
            await next_event(driver.events())


class FramerlessDriver(DocumentReader):
    name: ClassVar[str] = "framerless"

    def make_framer(self) -> BuggyFramer:
        raise ValueError("no framer for this device")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_an_open_that_fails_after_the_transport_opened_closes_it(tmp_path: Path) -> None:
    async with RteSim(link=tmp_path / "rte0") as sim:
        before = open_fds()
        driver = FramerlessDriver(sim.url)
        with pytest.raises(ValueError, match="no framer"):
            await driver.open()
        assert open_fds() == before
        assert driver.health().state is HealthState.ABSENT
        await driver.close()  # a no-op: it never opened


@pytest.mark.parametrize(
    ("driver", "options", "named"),
    [
        (BarcodeSerialDriver, {"prefix": "\\xZ"}, "prefix"),
        (BarcodeSerialDriver, {"terminator": "custom"}, "terminator_bytes"),
        (MrzLineDriver, {"suffix": "\\x"}, "suffix"),
        (AccessStxDriver, {"terminator": "\\x1"}, "terminator"),
        (RteDriver, {"mode": "interrupt", "enable_command": "\\xQ"}, "enable_command"),
    ],
)
def test_a_constructor_refuses_bad_options_naming_the_option(
    driver: type[StreamDriver], options: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=f"^{named}: "):
        driver("/dev/null", options)
