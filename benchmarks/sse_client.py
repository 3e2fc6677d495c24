"""Separate-process SSE client for the latency benchmark: prints one latency (ns) per record.

Each record's capture text holds the CLOCK_MONOTONIC time (ns) at which the capture entered
the pipeline; CLOCK_MONOTONIC is system-wide, so the two processes compare directly.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp


async def main(url: str, token: str, count: int) -> None:
    got = 0
    async with (
        aiohttp.ClientSession() as http,
        http.get(url + "/v1/events", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        event = ""
        async for raw in resp.content:
            line = raw.decode()
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: ") and event == "record":
                now = time.monotonic_ns()
                sent = int(json.loads(line[6:])["payload"]["text"])
                print(now - sent, flush=True)
                got += 1
                if got >= count:
                    return


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
