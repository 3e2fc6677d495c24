"""Device latency: last byte written on the pty → record committed, and replug → READY.

The simulator runs in its own process and writes the exact bytes of its family over a real
pseudo-terminal in 64-byte packets; the daemon reads it through the real driver, normalizes
the read and commits it durably. Both sides stamp CLOCK_MONOTONIC.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.bench_latency import fsync_floor
from benchmarks.common import line, median, percentile, until
from drivers.base import HealthState
from drivers.sim.profiles import profile_class
from edge.app import App
from edge.config import from_mapping
from edge.notify import Notifier
from edge.records import Record

# Simulator profiles measured: one serial MRZ reader, one CDC barcode scanner.
FAMILIES = ("rte-native", "barcode-cdc")


def _config(tmp: str, profile: str, link: Path, **supervision: float) -> dict[str, object]:
    sim = profile_class(profile)(link=link)
    return {
        "workstation": {"id": "bench", "data_dir": tmp},
        "api": {"listen": "127.0.0.1:0"},
        "storage": {"min_free": 0},
        "supervision": supervision,
        "devices": [
            {"name": "dev", "driver": sim.driver, "url": str(link), "options": sim.options()}
        ],
    }


async def latency(profile: str, rate: float, count: int) -> list[float]:
    """Milliseconds from each read's last byte on the pty to its record's commit."""
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / "dev0"
        feeder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.sim_feeder",
            profile,
            str(link),
            str(rate),
            str(count),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert feeder.stdin is not None
        assert feeder.stdout is not None
        assert (await feeder.stdout.readline()).strip() == b"ready"
        app = App(from_mapping(_config(tmp, profile, link), "<bench>"), notifier=Notifier({}))
        committed: list[int] = []

        def on_commit(records: Sequence[Record], bodies: Sequence[bytes], seconds: float) -> None:
            now = time.monotonic_ns()
            committed.extend(now for _ in records)

        app.store.on_commit(on_commit)
        daemon = asyncio.create_task(app.run())
        await app.ready.wait()
        await until(lambda: app.supervisors[0].health.state is HealthState.READY)
        feeder.stdin.write(b"go\n")
        stamps = [int(v) for v in (await feeder.stdout.readline()).split()]
        await until(lambda: len(committed) >= len(stamps))
        feeder.stdin.write(b"stop\n")
        await feeder.wait()
        app.request_stop()
        await daemon
    return [(c - s) / 1e6 for s, c in zip(stamps, committed, strict=True)]


async def replug(profile: str, cycles: int) -> list[float]:
    """Milliseconds from a replug (new pty behind the same link) to the device READY again."""
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / "dev0"
        sim = profile_class(profile)(link=link)
        async with sim:
            # Backoff far longer than the goal: only hotplug detection can meet it.
            config = _config(tmp, profile, link, backoff_base=5.0, backoff_cap=30.0)
            app = App(from_mapping(config, "<bench>"), notifier=Notifier({}))
            daemon = asyncio.create_task(app.run())
            await app.ready.wait()
            (sup,) = app.supervisors
            times = []
            rng = random.Random(cycles)
            for _ in range(cycles):
                await until(lambda: sup.health.state is HealthState.READY)
                await sim.unplug()
                await until(lambda: sup.health.state is not HealthState.READY)
                # Unplugged for a while, at a random phase against the hotplug poll.
                await asyncio.sleep(rng.uniform(0.3, 0.8))
                started = time.monotonic()
                await sim.replug()
                await until(lambda: sup.health.state is HealthState.READY)
                times.append((time.monotonic() - started) * 1000)
            app.request_stop()
            await daemon
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--profiles", nargs="*", default=list(FAMILIES))
    args = parser.parse_args(argv)
    logging.disable(logging.ERROR)  # the replug cycles log each failure and the flapping alarm
    for profile in args.profiles:
        lat = asyncio.run(latency(profile, args.rate, args.count))
        print(f"{profile}: last byte on the pty -> record committed, {args.rate:g} reads/s")
        line("reads", str(len(lat)))
        line("p50", f"{median(lat):.2f} ms")
        line("p99", f"{percentile(lat, 99):.2f} ms  (goal <= 10 ms)")
        line("max", f"{max(lat):.2f} ms")
        floor = fsync_floor(Path(tempfile.gettempdir()), samples=100)
        line(
            "disk fdatasync, same run: p50 / p99 / max",
            f"{median(floor):.2f} / {percentile(floor, 99):.2f} / {max(floor):.2f} ms",
        )
        replugs = asyncio.run(replug(profile, args.cycles))
        line("replug -> READY: median / max", f"{median(replugs):.0f} / {max(replugs):.0f} ms")
        line("", "(goal <= 2000 ms; supervisor backoff set to 5-30 s)")


if __name__ == "__main__":
    main()
