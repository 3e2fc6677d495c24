"""A device simulator in its own process: presents reads at a steady rate over a pty.

Usage: python -m benchmarks.sim_feeder PROFILE LINK RATE COUNT. Prints "ready" once the link
exists, waits for a line on stdin, then presents COUNT reads and prints, for each, the
CLOCK_MONOTONIC nanoseconds right after its last byte was written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sys
from pathlib import Path

from drivers.sim.profiles import profile_class
from edge.simulate import specimens


async def feed(profile: str, link: Path, rate: float, count: int) -> None:
    sim = profile_class(profile)(link=link, seed=1)
    async with sim:
        sim.set_chunking((64, 64))  # full-speed USB CDC packets
        payloads = itertools.cycle(specimens(sim, dt.datetime.now(dt.UTC).date()))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        stamps = []
        for _ in range(count):
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            await sim.present(next(payloads))
            stamps.append(sim.last_write_ns)
        print(" ".join(map(str, stamps)), flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # stay plugged until told


if __name__ == "__main__":
    asyncio.run(feed(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
