"""The local API on a real loopback socket: auth, health, records, SSE, metrics."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import aiohttp

from edge.api.token import TOKEN_FILE
from tests.helpers import make_config, next_of, running, sim_device, sse_events


async def test_token_file_is_private_and_required(data_dir: Path) -> None:
    async with running(make_config(data_dir)) as app, aiohttp.ClientSession() as http:
        mode = stat.S_IMODE(os.stat(data_dir / TOKEN_FILE).st_mode)
        assert mode == 0o600
        assert (data_dir / TOKEN_FILE).read_text().strip() == app.token
        for path in ("/v1/records", "/v1/devices", "/v1/events", "/v1/records/x"):
            async with http.get(app.api_url + path) as resp:
                assert resp.status == 401
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            bad = {"Authorization": "Bearer nope"}
            async with http.get(app.api_url + path, headers=bad) as resp:
                assert resp.status == 401
        async with http.get(app.api_url + "/v1/records?token=" + app.token) as resp:
            assert resp.status == 401  # never accepted in a URL


async def test_token_survives_restart(data_dir: Path) -> None:
    async with running(make_config(data_dir)) as app:
        first = app.token
    async with running(make_config(data_dir)) as app:
        assert app.token == first


async def test_health_devices_records_and_metrics(data_dir: Path) -> None:
    config = make_config(data_dir, devices=[sim_device("reader", interval=0.01, count=5)])
    async with running(config) as app, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {app.token}"}
        for _ in range(200):
            if app.store.writer.last_seq >= 5:
                break
            await asyncio.sleep(0.02)
        async with http.get(app.api_url + "/v1/health") as resp:
            health = await resp.json()
        assert health["status"] == "ok"
        assert health["workstation"] == "test-ws"
        assert health["store"]["last_seq"] == 5
        async with http.get(app.api_url + "/v1/devices", headers=auth) as resp:
            (device,) = (await resp.json())["devices"]
        assert device["name"] == "reader"
        assert device["reads"] == 5
        async with http.get(app.api_url + "/v1/records?after=2&limit=2", headers=auth) as resp:
            page = await resp.json()
        assert [r["seq"] for r in page["records"]] == [3, 4]
        assert page["next_after"] == 4
        record_id = page["records"][0]["id"]
        async with http.get(app.api_url + f"/v1/records/{record_id}", headers=auth) as resp:
            assert (await resp.json())["seq"] == 3
        async with http.get(app.api_url + "/v1/records/nope", headers=auth) as resp:
            assert resp.status == 404
        async with http.get(app.api_url + "/v1/records?limit=0", headers=auth) as resp:
            assert resp.status == 400
            assert "limit" in (await resp.json())["error"]
        async with http.get(app.api_url + "/v1/records?after=x", headers=auth) as resp:
            assert resp.status == 400
        async with http.get(app.api_url + "/metrics") as resp:
            text = await resp.text()
        assert 'midas_captures_total{device="reader",kind="document"} 5.0' in text
        assert "midas_commit_latency_seconds_bucket" in text
        assert "midas_pipeline_queue_depth" in text
        assert 'midas_devices{state="ready"}' in text


async def test_sse_streams_records_devices_and_resumes(data_dir: Path) -> None:
    config = make_config(data_dir, devices=[sim_device("reader", interval=0.05, count=6)])
    async with running(config) as app, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {app.token}"}
        async with http.get(app.api_url + "/v1/events", headers=auth) as resp:
            assert resp.headers["Content-Type"] == "text/event-stream"
            events = sse_events(resp)
            hello = await next_of(events, "hello")
            assert hello.data["workstation"] == "test-ws"
            device = await next_of(events, "device")
            assert device.data["name"] == "reader"
            seen: list[int] = []
            while len(seen) < 3:
                event = await next_of(events, "record")
                assert event.id == str(event.data["seq"])
                seen.append(event.data["seq"])
        assert seen == sorted(seen)
        for _ in range(200):
            if app.store.writer.last_seq >= 6:
                break
            await asyncio.sleep(0.02)
        # Reconnect with Last-Event-ID: everything after it is replayed from the store.
        resume = {**auth, "Last-Event-ID": str(seen[0])}
        async with http.get(app.api_url + "/v1/events", headers=resume) as resp:
            events = sse_events(resp)
            replayed = [(await next_of(events, "record")).data["seq"] for _ in range(6 - seen[0])]
        assert replayed == list(range(seen[0] + 1, 7))


async def test_slow_sse_client_is_caught_up_from_the_store(data_dir: Path) -> None:
    async with running(make_config(data_dir)) as app, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {app.token}"}
        async with http.get(app.api_url + "/v1/events", headers=auth) as resp:
            events = sse_events(resp)
            await next_of(events, "hello")
            # Force an overflow of this subscriber's mailbox, then commit real records.
            from drivers.base import Capture, CaptureKind
            from edge.records import DeviceRef

            for sub in list(app.hub._subscribers):
                sub.lagged = True
            assert app.pipeline is not None
            futures = [
                await app.pipeline.submit(
                    DeviceRef("reader", "sim"),
                    Capture(CaptureKind.DOCUMENT, b"X\r", 1_790_000_000_000, text="X"),
                )
                for _ in range(3)
            ]
            await asyncio.gather(*futures)
            got = [(await next_of(events, "record")).data["seq"] for _ in range(3)]
        assert got == [1, 2, 3]
