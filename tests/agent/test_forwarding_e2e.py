"""The daemon end to end: sim reader → sealed records → NAS sink on a directory → files once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from agent.nas_sink import UNMOUNTED_ENV
from agent.sink_status import SinkState
from tests.agent.support import check_share
from tests.helpers import make_config, running, sim_device

RECORDS = 30


async def test_every_record_reaches_the_share_exactly_once(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UNMOUNTED_ENV, "1")  # a plain directory stands in for the mount
    root = tmp_path / "share"
    root.mkdir()
    config = make_config(
        data_dir,
        devices=[sim_device("reader", interval=0.005, count=RECORDS)],
        sinks=[{"name": "nas", "kind": "nas", "target": str(root), "batch_records": 7}],
    )
    async with running(config) as app:
        assert app.forwarder is not None

        async def count(state: str) -> int:
            rows = await app.store.query(
                "SELECT count(*) FROM deliveries WHERE sink = 'nas' AND state = ?", (state,)
            )
            return int(rows[0][0])

        with app.hub.subscribe() as events:
            # No sentinel yet: the share is not there, the records wait for it.
            async with asyncio.timeout(30):
                while (
                    await count("pending") < RECORDS
                    or app.forwarder.schedulers[0].status.state is not SinkState.UNAVAILABLE
                ):
                    await asyncio.sleep(0.02)
            assert not list(root.iterdir())
            (root / ".midas-share").write_text("uuid\n")
            app.forwarder.wake()
            async with asyncio.timeout(30):
                while await count("delivered") < RECORDS:
                    await asyncio.sleep(0.02)
                seen: list[tuple[str, int]] = []
                while not seen or seen[-1] != ("ok", 0):
                    event = await events.get()
                    assert event is not None
                    if event.type == "sink":
                        data = json.loads(event.data)
                        seen.append((data["state"], data["backlog"]))
        bodies = dict(await app.store.query("SELECT id, body FROM records ORDER BY seq"))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{app.api_url}/v1/health") as resp:
                health = await resp.json()
            async with http.get(f"{app.api_url}/metrics") as resp:
                metrics = await resp.text()
    assert len(bodies) == RECORDS
    assert health["sinks"]["nas"]["state"] == "ok"
    assert health["sinks"]["nas"]["backlog"] == 0
    assert 'midas_sink_delivered_total{sink="nas"} 30.0' in metrics
    assert 'midas_sink_state{sink="nas",state="ok"} 1.0' in metrics

    # Every record listed once: no batch was published twice.
    assert check_share(root / "test-ws", bodies) == Counter(bodies.keys())
