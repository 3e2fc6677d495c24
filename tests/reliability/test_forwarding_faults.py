"""Forwarding through faults: the daemon (a child process) forwards every acknowledged record to
a receiver behind a fault proxy and to a NAS directory, exactly once after de-duplication.

MIDAS_FORWARD_KILLS sets the kill -9 iterations (default 3; try 30 for a longer run),
MIDAS_FORWARD_SEED the random seed. Every scenario ends with the oracle (forwarding_harness).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from tests.reliability.faultproxy import Mode
from tests.reliability.forwarding_harness import Figures, Rig, report, rig, rng, wait_until

KILLS = int(os.environ.get("MIDAS_FORWARD_KILLS", "3"))
SEED = int(os.environ.get("MIDAS_FORWARD_SEED", "1"))
PER_RUN = 60
KILL_RUN = 150
FAULT_TIMEOUT_S = 30.0


async def finish(r: Rig, count: int = 10) -> Figures:
    """A last run that produces `count` more records, drains everything and stops cleanly."""
    if r.daemon is None:
        r.start(count)
        await r.ready()
    await r.drain()
    await r.stop()
    return await r.oracle()


async def test_blackhole_then_recovery(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.start(PER_RUN)
        await r.ready()
        await r.committed(10)
        await r.proxy.set(Mode.BLACKHOLE)  # half-open: the sink must time out, not hang
        await r.committed(PER_RUN)
        await asyncio.sleep(r.timeout * 1.5)
        assert r.pending() > 0
        await r.proxy.set(Mode.PASS)
        figures = await finish(r)
    report("blackhole", figures)


async def through(r: Rig, mode: Mode, what: str, seen: Callable[[], int]) -> Figures:
    """A run that starts under `mode` and passes again once the proxy did `what` 3 times."""
    await r.proxy.set(mode)
    r.start(PER_RUN)
    await r.ready()
    await r.committed(PER_RUN)
    await wait_until(f"3 {what}", lambda: seen() >= 3, FAULT_TIMEOUT_S)
    await r.proxy.set(Mode.PASS)
    return await finish(r)


async def test_resets_mid_stream(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.proxy.reset_after = 700  # inside the request body of a batch
        figures = await through(r, Mode.RESET, "resets", lambda: r.proxy.resets)
    assert figures.proxy["resets"] >= 3
    report("resets", figures)


async def test_lost_acks_are_answered_as_duplicates(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        figures = await through(r, Mode.LOST_ACK, "lost acks", lambda: r.proxy.lost_acks)
    assert figures.proxy["lost_acks"] >= 3
    # The server committed each of those batches; the resend was answered "duplicate".
    assert figures.receiver_duplicates_answered > 0
    report("lost acks", figures)


async def test_flapping_link(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.start(PER_RUN * 2, interval=0.02)
        await r.ready()
        periods = [
            (Mode.PASS, 0.3),
            (Mode.REFUSE, 0.4),
            (Mode.LATENCY, 0.4),
            (Mode.BLACKHOLE, 0.6),
            (Mode.LOST_ACK, 0.2),
        ]
        await asyncio.wait_for(r.proxy.flap(periods, cycles=3), FAULT_TIMEOUT_S)
        figures = await finish(r)
    report("flapping", figures)


async def test_nas_unmounted_for_a_while(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.start(PER_RUN)
        await r.ready()
        await r.committed(5)
        async with r.unmounted():
            await r.committed(PER_RUN)
            # The receiver keeps getting everything while the share is away.
            await wait_until(
                "the receiver to get everything",
                lambda: r.storage.receipts.total() >= PER_RUN,
                FAULT_TIMEOUT_S,
            )
            nas_pending = r.pending()
            assert nas_pending > 0
        await r.drain()
        await r.stop()
        # A share that vanished mid-batch keeps the parts written before: the next start
        # removes them once stale.
        r.age_parts()
        figures = await finish(r)
    report("nas unmounted", figures)


async def test_kill9_at_random_times_and_in_flight(tmp_path: Path) -> None:
    random = rng(SEED)
    async with rig(tmp_path, lifetime=60.0 + 20.0 * KILLS, seed=SEED) as r:
        for i in range(KILLS):
            r.start(KILL_RUN, interval=random.choice((0.0, 0.005, 0.01)))
            await r.ready()
            if i % 2:
                await r.in_flight_kill()
            else:
                # While the reader produces, the sealer seals and both sinks send.
                await r.committed(random.randint(1, KILL_RUN))
                await asyncio.sleep(random.uniform(0.0, 0.3))
                await r.kill9()
        r.age_parts()  # a kill -9 may leave parts; the next start removes the stale ones
        figures = await finish(r)
    assert figures.kills == KILLS
    report("kill -9", figures)
