"""The chain status is read from one snapshot: its parts agree while batches keep arriving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.receiver.support import Workstation, chain, send

BATCHES = 60


async def test_the_chain_status_parts_agree_while_batches_arrive(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path
) -> None:
    await send(http, url, ws, ws.records(1))
    done = asyncio.Event()

    async def writer() -> None:
        try:
            for _ in range(BATCHES):
                await send(http, url, ws, ws.records(3))
        finally:
            done.set()

    task = asyncio.create_task(writer())
    seen: list[int] = []
    while not done.is_set() or not seen:
        status = await chain(http, url, ws.name)
        # The summary, the runs and the keys come from separate queries: with one snapshot the
        # key counts add up to the count and the last seq is the last key's last seq.
        assert sum(k["count"] for k in status["keys"]) == status["count"]
        assert max(k["last_seq"] for k in status["keys"]) == status["last_seq"]
        assert status["contiguous_to"] == status["last_seq"] and not status["gaps"]
        seen.append(status["count"])
    await task
    final = await chain(http, url, ws.name)
    assert final["count"] == 1 + 3 * BATCHES and final["keys"][0]["count"] == final["count"]
    assert seen == sorted(seen)
