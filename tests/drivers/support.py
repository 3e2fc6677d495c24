"""Helpers shared by the driver tests: waiting, registries, stored records, chunks, expectations."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

from drivers.base import Capture, CaptureKind, Driver
from drivers.registry import Registry
from drivers.sim.device import SimDevice
from edge.app import App
from edge.events import Event, Subscription
from edge.records import Record, decode

# How long a test waits for the daemon or a simulator to reach a state before it fails.
WAIT_TIMEOUT_S = 10.0
# How often a waited-for condition is checked.
POLL_S = 0.005
# drain(): the hub is empty once it stayed quiet this long (everything waited for is in).
QUIET_S = 0.2
# Records read back from the store at most (more than any test commits).
MAX_RECORDS = 1000

Expect = Callable[[Capture, str | bytes], None]


async def wait_for(predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT_S) -> None:
    """Return once `predicate()` holds; TimeoutError after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(POLL_S)


def committed(app: App, count: int) -> Callable[[], bool]:
    """A predicate: the store has committed at least `count` records."""
    return lambda: app.store.writer.last_seq >= count


def registry_with(name: str, driver: type[Driver]) -> Registry:
    """A registry holding `driver` under `name` (the installed entry points stay reachable)."""
    registry = Registry()
    registry.register(name, driver)
    return registry


def device(name: str, driver: str, sim: SimDevice, **options: Any) -> dict[str, Any]:
    """A `[[devices]]` config entry for `sim`, with its own options plus `options`."""
    return {"name": name, "driver": driver, "url": sim.url, "options": {**sim.options(), **options}}


async def stored(app: App) -> list[Record]:
    """Every committed record, oldest first."""
    return [decode(body) for _, body in await app.store.bodies_after(0, MAX_RECORDS)]


async def stored_json(app: App) -> list[dict[str, Any]]:
    """Every committed record as its stored JSON, oldest first."""
    return [json.loads(body) for _, body in await app.store.bodies_after(0, MAX_RECORDS)]


async def drain(sub: Subscription) -> list[Event]:
    """The events `sub` holds, once it has stayed quiet for QUIET_S."""
    seen: list[Event] = []
    while True:
        try:
            event = await asyncio.wait_for(sub.get(), QUIET_S)
        except TimeoutError:
            return seen
        if event is not None:
            seen.append(event)


def device_errors(events: list[Event]) -> list[dict[str, Any]]:
    """The `device_error` events' data."""
    return [json.loads(e.data) for e in events if e.type == "device_error"]


def chunks(data: bytes, rng: random.Random, low: int = 1, high: int = 64) -> list[bytes]:
    """`data` cut into consecutive pieces of `low` to `high` bytes."""
    out, at = [], 0
    while at < len(data):
        size = rng.randint(low, high)
        out.append(data[at : at + size])
        at += size
    return out


def as_bytes(item: str | bytes) -> bytes:
    return item.encode("latin-1") if isinstance(item, str) else item


def expect_document(**meta: str) -> Expect:
    """A document capture whose text is the sample, with `meta` among its metadata."""

    def expect(capture: Capture, item: str | bytes) -> None:
        assert capture.kind is CaptureKind.DOCUMENT
        assert capture.text == item
        for key, value in meta.items():
            assert capture.meta[key] == value

    return expect


def expect_barcode(symbology: str, **meta: str) -> Expect:
    """A barcode capture whose payload is the sample, of `symbology`, with `meta`."""

    def expect(capture: Capture, item: str | bytes) -> None:
        assert capture.kind is CaptureKind.BARCODE
        assert capture.payload == as_bytes(item)
        assert capture.symbology == symbology
        for key, value in meta.items():
            assert capture.meta[key] == value

    return expect
