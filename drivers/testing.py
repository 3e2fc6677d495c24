"""Conformance suite: what every driver + simulator pair must do, run through the real code.

A family describes itself with a `Case` (its driver, a simulator factory, sample reads and how
a capture must look for each) and its tests run every check of `CHECKS`:

    @pytest.mark.parametrize("check", CHECKS, ids=check_names())
    async def test_conformance(check, tmp_path):
        await check(MY_CASE, tmp_path)

Checks: lifecycle and health, identity, exact raw bytes per read, byte-at-a-time and
USB-sized chunks with gaps, two reads in one write, duplicate reads, noise before a frame,
truncated frames, unplug → DeviceUnavailable (no reopen while unplugged), replug, unknown
options and commands refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.base import (
    Capture,
    DeviceUnavailable,
    Driver,
    DriverError,
    Event,
    HealthState,
    Notice,
    NotSupported,
)
from drivers.framing import Frame, Framer
from drivers.sim.device import SimDevice

# Generous bounds for a loaded CI machine; these are liveness limits, not performance targets.
EVENT_TIMEOUT_S = 10.0


@dataclass
class Case:
    """One driver + simulator pair and what its reads must produce."""

    driver: type[Driver]
    make_sim: Callable[[Path], SimDevice]  # given a scratch directory for the stable link
    samples: Sequence[str | bytes]  # items the simulator can present
    # Raise AssertionError if `capture` is not what presenting `item` must give.
    expect: Callable[[Capture, str | bytes], None]
    options: dict[str, Any] = field(default_factory=dict)
    noise_detected: bool = True  # noise before a frame is reported as a Notice
    truncation_detected: bool = True  # a cut frame is reported, never delivered as a read
    hotplug: bool = True  # the simulator can unplug and replug


def feed_all(framer: Framer, chunks: list[bytes]) -> list[Frame]:
    """Feed chunks in order, then `idle()`: every frame the framer finds."""
    frames: list[Frame] = []
    for chunk in chunks:
        frames.extend(framer.feed(chunk))
    frames.extend(framer.idle())
    return frames


async def next_event(events: AsyncIterator[Event], timeout: float = EVENT_TIMEOUT_S) -> Event:
    async with asyncio.timeout(timeout):
        return await anext(events)


async def next_capture(
    events: AsyncIterator[Event], timeout: float = EVENT_TIMEOUT_S
) -> tuple[Capture, list[Notice]]:
    """The next capture, with the notices that came before it."""
    notices: list[Notice] = []
    while True:
        event = await next_event(events, timeout)
        if isinstance(event, Notice):
            notices.append(event)
        else:
            return event, notices


class Harness:
    """A started simulator and an opened driver on it."""

    def __init__(self, case: Case, scratch: Path) -> None:
        self.case = case
        self.sim = case.make_sim(scratch)
        self.driver: Driver | None = None
        self.events: AsyncIterator[Event] | None = None

    async def __aenter__(self) -> Harness:
        url = await self.sim.start()
        self.driver = self.case.driver(url, {**self.sim.options(), **self.case.options})
        await self.driver.open()
        self.events = self.driver.events()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.driver is not None:
            await self.driver.close()
        await self.sim.stop()

    @property
    def stream(self) -> AsyncIterator[Event]:
        if self.events is None:
            raise RuntimeError("the harness is not started")
        return self.events

    async def read(self, item: str | bytes) -> Capture:
        sent = await self.sim.present(item)
        capture, notices = await next_capture(self.stream)
        assert not notices, f"unexpected notices {[n.code for n in notices]}"
        assert capture.raw == sent, "the capture's raw bytes are not what the device sent"
        self.case.expect(capture, item)
        return capture


Check = Callable[[Case, Path], Awaitable[None]]


async def check_lifecycle(case: Case, scratch: Path) -> None:
    sim = case.make_sim(scratch)
    url = await sim.start()
    try:
        driver = case.driver(url, {**sim.options(), **case.options})
        assert driver.health().state is HealthState.ABSENT
        await driver.open()
        await driver.open()  # idempotent
        assert driver.health().state is HealthState.READY
        await driver.close()
        await driver.close()  # idempotent
        assert driver.health().state is HealthState.ABSENT
        await driver.open()  # and opens again
        assert driver.health().state is HealthState.READY
        await driver.close()
    finally:
        await sim.stop()


async def check_identity(case: Case, scratch: Path) -> None:
    async with Harness(case, scratch) as h:
        assert h.driver is not None
        identity = h.driver.identify()
        assert identity.kind is case.driver.kind
        assert identity.driver == case.driver.name
        assert identity.transport, "identify() must name the transport"
        assert identity.node, "identify() must name the device node"
        if h.sim.link is not None:
            assert identity.stable_path == str(h.sim.link)


async def check_reads(case: Case, scratch: Path) -> None:
    async with Harness(case, scratch) as h:
        for item in case.samples:
            await h.read(item)
        assert h.driver is not None
        assert h.driver.health().reads == len(case.samples)


async def check_byte_at_a_time(case: Case, scratch: Path) -> None:
    async with Harness(case, scratch) as h:
        h.sim.set_chunking((1, 1))
        for item in case.samples[:2]:
            await h.read(item)


async def check_usb_chunks_with_gaps(case: Case, scratch: Path) -> None:
    async with Harness(case, scratch) as h:
        h.sim.set_chunking((1, 64), (0.0, 0.004))
        for item in case.samples:
            await h.read(item)


async def check_two_reads_in_one_write(case: Case, scratch: Path) -> None:
    async with Harness(case, scratch) as h:
        first, second = case.samples[0], case.samples[-1]
        frames = h.sim.encode(first) + h.sim.encode(second)
        await h.sim.write(frames)
        a, notices_a = await next_capture(h.stream)
        b, notices_b = await next_capture(h.stream)
        assert not notices_a and not notices_b
        case.expect(a, first)
        case.expect(b, second)
        assert a.raw + b.raw == frames


async def check_duplicate_reads(case: Case, scratch: Path) -> None:
    async with Harness(case, scratch) as h:
        await h.sim.present(case.samples[0], repeat=2)
        for _ in range(2):  # a reader that sends a read twice gives two captures: none is lost
            capture, _ = await next_capture(h.stream)
            case.expect(capture, case.samples[0])


async def check_noise_before_frame(case: Case, scratch: Path) -> None:
    if not case.noise_detected:
        return
    async with Harness(case, scratch) as h:
        await h.sim.inject_garbage()
        sent = await h.sim.present(case.samples[0])
        capture, notices = await next_capture(h.stream)
        assert notices, "noise before a frame must be reported"
        assert all(n.code and n.message for n in notices)
        assert capture.raw == sent
        case.expect(capture, case.samples[0])


async def check_truncated_frame(case: Case, scratch: Path) -> None:
    if not case.truncation_detected:
        return
    async with Harness(case, scratch) as h:
        frame = h.sim.encode(case.samples[0])
        await h.sim.write(frame[: max(1, len(frame) // 2)])  # the device reset mid-message
        await asyncio.sleep(0.05)
        sent = await h.sim.present(case.samples[-1])
        capture, notices = await next_capture(h.stream)
        assert notices, "a cut frame must be reported"
        assert capture.raw == sent
        case.expect(capture, case.samples[-1])


async def check_unplug_and_replug(case: Case, scratch: Path) -> None:
    if not case.hotplug:
        return
    async with Harness(case, scratch) as h:
        await h.read(case.samples[0])
        await h.sim.unplug()
        try:
            while True:
                await next_event(h.stream)
        except DeviceUnavailable:
            pass
        assert h.driver is not None
        await h.driver.close()
        try:
            await h.driver.open()
        except DeviceUnavailable:
            pass
        else:
            raise AssertionError("reopening an unplugged device must fail")
        await h.sim.replug()
        h.driver = case.driver(h.sim.url, {**h.sim.options(), **case.options})
        await h.driver.open()
        h.events = h.driver.events()
        await h.read(case.samples[-1])


async def check_refusals(case: Case, scratch: Path) -> None:
    try:
        case.driver.validate_options({"no_such_option": 1})
    except ValueError as exc:
        assert "no_such_option" in str(exc)
    else:
        raise AssertionError("an unknown option must be refused")
    async with Harness(case, scratch) as h:
        assert h.driver is not None
        try:
            await h.driver.command("no-such-command")
        except NotSupported:
            pass
        else:
            raise AssertionError("an unknown command must raise NotSupported")


async def check_open_absent(case: Case, scratch: Path) -> None:
    sim = case.make_sim(scratch)
    url = await sim.start()
    options = {**sim.options(), **case.options}
    await sim.stop()
    driver = case.driver(url, options)
    try:
        await driver.open()
    except DeviceUnavailable:
        assert driver.health().state is HealthState.ABSENT
    except DriverError as exc:
        raise AssertionError(f"an absent device must raise DeviceUnavailable, not {exc!r}") from exc
    else:
        await driver.close()
        raise AssertionError("opening an absent device must fail")


CHECKS: tuple[Check, ...] = (
    check_lifecycle,
    check_identity,
    check_reads,
    check_byte_at_a_time,
    check_usb_chunks_with_gaps,
    check_two_reads_in_one_write,
    check_duplicate_reads,
    check_noise_before_frame,
    check_truncated_frame,
    check_unplug_and_replug,
    check_refusals,
    check_open_absent,
)


def check_names() -> list[str]:
    return [c.__name__.removeprefix("check_") for c in CHECKS]
