"""A console's event stream ends with its session; every API answer is same-origin only."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest

from drivers.base import Capture, CaptureKind, now_ms
from edge.alarms import Alarms
from edge.api import sse
from edge.api.console_auth import ConsoleAuth
from edge.api.context import ApiContext
from edge.api.server import ApiServer
from edge.events import Event, Hub
from edge.metrics import Metrics
from edge.records import DeviceRef
from edge.store import Store
from tests.alerts.support import stolen_passport
from tests.alerts.test_daemon import read
from tests.console.test_signin import bearer, signed_in
from tests.helpers import SseEvent, make_config, make_record, next_of, running, sse_events


async def rest_of(events: AsyncIterator[SseEvent]) -> list[SseEvent]:
    """Every event until the server closes the stream (liveness bound: 10 s)."""
    async with asyncio.timeout(10):
        return [event async for event in events]


async def test_signing_out_ends_the_open_event_stream(data_dir: Path) -> None:
    async with running(make_config(data_dir)) as app:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            await signed_in(app, http)
            async with (
                http.get(app.api_url + "/v1/events") as console_stream,
                http.get(app.api_url + "/v1/events", headers=bearer(app)) as token_stream,
            ):
                events = sse_events(console_stream)
                await next_of(events, "hello")
                others = sse_events(token_stream)
                await next_of(others, "hello")
                own = {"Origin": app.api_url, "Sec-Fetch-Site": "same-origin"}
                async with http.post(app.api_url + "/v1/console/logout", headers=own) as resp:
                    assert resp.status == 200
                record = await read(app, stolen_passport())
                after = await rest_of(events)
                # The token's stream is no console session: it goes on.
                assert (await next_of(others, "record")).data["id"] == record.id
        assert [e.type for e in after] == ["session_ended"]
        assert after[0].data == {"reason": "signed_out"}


@pytest.fixture
async def api_with_clock(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, ConsoleAuth, list[float], Store, Hub]]:
    """The local API on a real store, with a console clock the test moves."""
    monkeypatch.setattr(sse, "SESSION_CHECK_S", 0.05)
    now = [1000.0]
    auth = ConsoleAuth(clock=lambda: now[0])
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(Store(data_dir, quota=1 << 30, min_free=0))
        writer = asyncio.create_task(store.run_writer(), name="writer under test")
        hub = Hub()
        ctx = ApiContext(
            "test-ws", store, hub, Alarms(), Metrics(), list, "the-token", console=auth
        )
        server = ApiServer(ctx, "127.0.0.1:0")
        url = await server.start()
        try:
            yield url, auth, now, store, hub
        finally:
            hub.close()
            await server.stop()
            await store.stop_writer()
            await writer


async def test_an_expired_session_ends_the_open_event_stream(
    api_with_clock: tuple[str, ConsoleAuth, list[float], Store, Hub],
) -> None:
    url, auth, now, store, hub = api_with_clock
    session = auth.redeem(auth.new_code())
    assert session is not None
    cookie = {"Cookie": f"midas_console={session}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(url + "/v1/events", headers=cookie) as resp,
    ):
        assert resp.status == 200
        events = sse_events(resp)
        await next_of(events, "hello")
        committed = await (await store.append(make_record(1)))
        hub.publish(Event("record", b'{"seq": 1}', committed.seq))
        assert (await next_of(events, "record")).id == str(committed.seq)
        now[0] += auth.session_ttl  # the shift is over
        after = await rest_of(events)
    assert [(e.type, e.data) for e in after] == [("session_ended", {"reason": "expired"})]


async def test_every_api_answer_is_for_the_same_origin_only(data_dir: Path) -> None:
    image = b"\xff\xd8\xff\xe0 a small JPEG stand-in \xff\xd9"
    async with running(make_config(data_dir)) as app, aiohttp.ClientSession() as http:
        assert app.pipeline is not None
        capture = Capture(
            CaptureKind.PORTRAIT, b"", now_ms(), images=(("image/jpeg", image),), meta={}
        )
        record = await (await app.pipeline.submit(DeviceRef("cam", "camera"), capture))
        blob = f"/v1/records/{record.id}/blobs/{hashlib.sha256(image).hexdigest()}"
        paths = ["/v1/records", f"/v1/records/{record.id}", blob, "/v1/devices", "/v1/health"]
        for path in [*paths, "/metrics", "/console", "/v1/nothing-here"]:
            async with http.get(app.api_url + path, headers=bearer(app)) as resp:
                assert resp.headers["Cross-Origin-Resource-Policy"] == "same-origin", path
        async with http.get(app.api_url + "/v1/records") as resp:
            assert resp.status == 401
            assert resp.headers["Cross-Origin-Resource-Policy"] == "same-origin"
        async with http.get(app.api_url + "/v1/events", headers=bearer(app)) as resp:
            assert resp.headers["Cross-Origin-Resource-Policy"] == "same-origin"
            assert resp.headers["Content-Type"] == "text/event-stream"
