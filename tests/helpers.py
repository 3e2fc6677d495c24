"""Test helpers: configs, a daemon running in the test's loop, an SSE client, the CLI in a
process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from drivers.registry import Registry
from edge.app import App
from edge.config import Config, from_mapping
from edge.notify import Notifier
from edge.records import DeviceRef, Kind, Record, new_id, utc_timestamp


def config_dict(data_dir: Path, **sections: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "workstation": {"id": "test-ws", "data_dir": str(data_dir)},
        "api": {"listen": "127.0.0.1:0"},
        "storage": {"quota": "1GiB", "min_free": 0},
    }
    base.update(sections)
    return base


def make_config(data_dir: Path, **sections: Any) -> Config:
    return from_mapping(config_dict(data_dir, **sections), "<test>")


def sim_device(name: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "driver": "sim", "url": f"sim://{name}", "options": options}


def make_record(n: int = 0, size: int = 800) -> Record:
    raw = (b"%08d" % n) * (size // 8)
    return Record(
        id=str(new_id()),
        workstation="test-ws",
        seq=0,
        captured_at=utc_timestamp(1_790_000_000_000 + n),
        device=DeviceRef("reader", "sim"),
        kind=Kind.DOCUMENT,
        raw=raw,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
    )


@contextlib.asynccontextmanager
async def running(
    config: Config, registry: Registry | None = None, notifier: Notifier | None = None
) -> AsyncIterator[App]:
    """The daemon running in this loop; stopped (and checked to stop cleanly) on exit."""
    kwargs: dict[str, Any] = {"notifier": notifier or Notifier({})}
    if registry is not None:
        kwargs["registry"] = registry
    app = App(config, **kwargs)
    task = asyncio.create_task(app.run(), name="app under test")
    ready = asyncio.create_task(app.ready.wait())
    await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await task  # surfaces the start-up error
        raise AssertionError("the daemon did not become ready")
    try:
        yield app
    finally:
        app.request_stop()
        await asyncio.wait_for(task, 15)


@dataclass
class SseEvent:
    type: str
    data: Any
    id: str | None


async def sse_events(response: aiohttp.ClientResponse) -> AsyncIterator[SseEvent]:
    """Parse a text/event-stream response into events."""
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line == "":
            if "data" in fields:
                yield SseEvent(
                    fields.get("event", "message"), json.loads(fields["data"]), fields.get("id")
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        fields[key] = value[1:] if value.startswith(" ") else value


async def next_of(events: AsyncIterator[SseEvent], kind: str, timeout: float = 10) -> SseEvent:
    async with asyncio.timeout(timeout):
        async for event in events:
            if event.type == kind:
                return event
    raise AssertionError(f"stream ended before a {kind} event")


async def midas_cli(*args: str, timeout: float = 60.0) -> tuple[int, str, str]:
    """`midas-edge ARGS...` in a process of its own, stdin closed: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
