"""Capture to event: from a capture entering the pipeline to its SSE event at a client in
another process, at a steady 50 captures/s, through the real daemon (store, FULL commit, API)."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from benchmarks.common import line, median, percentile
from drivers.base import Capture, CaptureKind, DeviceIdentity, DeviceKind, Driver, Event, now_ms
from drivers.registry import Registry
from edge.app import App
from edge.config import from_mapping
from edge.notify import Notifier


class PacedDriver(Driver):
    """Emits captures at a fixed rate; the text is the monotonic time of emission in ns."""

    name: ClassVar[str] = "paced"
    kind: ClassVar[DeviceKind] = DeviceKind.BARCODE

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        return None

    def identify(self) -> DeviceIdentity:
        return DeviceIdentity(DeviceKind.BARCODE, self.name, "bench")

    async def _open(self) -> None:
        return None

    async def _close(self) -> None:
        return None

    async def events(self) -> AsyncIterator[Event]:
        period = 1 / float(self.options["rate"])
        await asyncio.sleep(float(self.options["delay"]))  # let the client subscribe first
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        for _ in range(int(self.options["count"])):
            next_at += period
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            stamp = str(time.monotonic_ns())
            yield Capture(CaptureKind.BARCODE, stamp.encode(), now_ms(), text=stamp)
        await asyncio.Event().wait()  # stay connected after the run


async def run(rate: float, count: int) -> list[float]:
    registry = Registry()
    registry.register("paced", PacedDriver)
    with tempfile.TemporaryDirectory() as tmp:
        config = from_mapping(
            {
                "workstation": {"id": "bench", "data_dir": tmp},
                "api": {"listen": "127.0.0.1:0"},
                "storage": {"min_free": 0},
                "devices": [
                    {
                        "name": "paced",
                        "driver": "paced",
                        "url": "sim://paced",
                        "options": {"rate": rate, "count": count, "delay": 1.5},
                    }
                ],
            },
            "<bench>",
        )
        app = App(config, registry=registry, notifier=Notifier({}))
        daemon = asyncio.create_task(app.run())
        await app.ready.wait()
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.sse_client",
            app.api_url,
            app.token,
            str(count),
            stdout=subprocess.PIPE,
        )
        out, _ = await client.communicate()
        app.request_stop()
        await daemon
    return [int(v) / 1e6 for v in out.split()]


def fsync_floor(directory: Path, samples: int = 200) -> list[float]:
    """fdatasync latencies (ms) of 4 KiB appends on the benchmark's filesystem, 20 ms apart.

    A record is published only after its commit is durable, so the disk's own fsync tail is
    the floor under any capture-to-event figure; it is measured in the same run.
    """
    latencies = []
    fd, name = tempfile.mkstemp(dir=directory)
    try:
        for _ in range(samples):
            os.write(fd, b"\0" * 4096)
            started = time.perf_counter()
            os.fdatasync(fd)
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.02)
    finally:
        os.close(fd)
        os.unlink(name)
    return latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--count", type=int, default=1500)
    args = parser.parse_args(argv)
    floor = fsync_floor(Path(tempfile.gettempdir()))
    latencies = asyncio.run(run(args.rate, args.count))
    print(f"capture -> SSE event at {args.rate:g}/s, {len(latencies)} captures")
    line("p50", f"{median(latencies):.2f} ms  (goal <= 3 ms)")
    line("p99", f"{percentile(latencies, 99):.2f} ms  (goal <= 15 ms)")
    line("max", f"{max(latencies):.2f} ms")
    line(
        "disk fdatasync, same run: p50 / p99 / max",
        f"{median(floor):.2f} / {percentile(floor, 99):.2f} / {max(floor):.2f} ms",
    )


if __name__ == "__main__":
    main()
