"""The reference receiver serves published lists (ETag); the daemon fetches them over its sink."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.alerts.listfile import peek
from edge.alerts.service import AlertService
from edge.errors import ConfigError
from receiver.app import serve
from receiver.checks import Trust
from receiver.storage import KEEP_ALERT_LISTS, Storage
from tests.alerts.support import alerts_section, signed_list
from tests.helpers import make_config, running
from tests.receiver.support import BACKENDS, storage_of

KEY = Ed25519PrivateKey.generate()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


async def first_fetch(service: AlertService) -> dict[str, object]:
    async with asyncio.timeout(10):
        while service.last_fetch is None:
            await asyncio.sleep(0.02)
    return service.last_fetch


def version_in_force(service: AlertService) -> int | None:
    current = service.keeper.current
    return None if current is None else current.version


async def publish(storage: Storage, data: bytes) -> str:
    version = peek(data).version
    return await storage.publish_alert_list(
        version, hashlib.sha256(data).hexdigest(), data, time.time()
    )


async def test_published_lists_only_move_forward(backend: str, tmp_path: Path) -> None:
    async with storage_of(backend, tmp_path) as storage:
        assert await storage.latest_alert_list() is None
        lists = {v: signed_list(KEY, version=v) for v in range(1, KEEP_ALERT_LISTS + 3)}
        assert await publish(storage, lists[2]) == "stored"
        assert await publish(storage, lists[2]) == "duplicate"
        assert await publish(storage, signed_list(KEY, version=2)) == "conflict"
        assert await publish(storage, lists[1]) == "older"
        for version in range(3, KEEP_ALERT_LISTS + 3):
            assert await publish(storage, lists[version]) == "stored"
        latest = await storage.latest_alert_list()
        assert latest is not None
        newest = KEEP_ALERT_LISTS + 2
        assert (latest.version, latest.size) == (newest, len(lists[newest]))
        assert latest.sha256 == hashlib.sha256(lists[newest]).hexdigest()
        assert await storage.alert_list_body(newest) == lists[newest]
        assert await storage.alert_list_body(2) is None  # pruned: only the newest few are kept
        assert await storage.alert_list_body(3) == lists[3]


async def test_the_receiver_serves_the_newest_list_with_an_etag(
    backend: str, tmp_path: Path
) -> None:
    async with (
        storage_of(backend, tmp_path) as storage,
        serve(storage, Trust(tmp_path)) as where,
        aiohttp.ClientSession() as http,
    ):
        url = where.url + "/v1/alert-lists/latest"
        async with http.get(url) as resp:
            assert resp.status == 404
            assert (await resp.json()) == {"error": "not_found"}
        data = signed_list(KEY, version=3)
        await publish(storage, data)
        async with http.get(url) as resp:
            assert resp.status == 200
            assert await resp.read() == data
            etag = resp.headers["ETag"]
            assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
            assert resp.headers["X-Alert-List-Version"] == "3"
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            async with http.get(url, headers={"If-None-Match": header}) as resp:
                assert resp.status == 304
                assert await resp.read() == b""
        async with http.get(url, headers={"If-None-Match": '"stale"'}) as resp:
            assert resp.status == 200


async def test_the_daemon_fetches_lists_through_its_http_sink(
    data_dir: Path, tmp_path: Path
) -> None:
    async with storage_of("sqlite", tmp_path) as storage, serve(storage, Trust(tmp_path)) as where:
        config = make_config(
            data_dir,
            sinks=[{"name": "regional", "kind": "http", "target": where.url, "interval": 0.05}],
            alerts=alerts_section(KEY, fetch_sink="regional", fetch_interval=0.05),
        )
        async with running(config) as app:
            service = app.alerts
            assert service is not None
            fetched = await first_fetch(service)
            assert service.keeper.current is None  # nothing published yet: a 404, no error
            assert fetched["ok"] is True
            for version in (7, 8):
                await publish(storage, signed_list(KEY, version=version))
                async with asyncio.timeout(10):
                    while version_in_force(service) != version:
                        await asyncio.sleep(0.02)
            assert service.status()["source"] == "server"
            assert service.keeper.last_refusal is None
        # The fetched list was kept: a restart has it before the server answers.
        async with running(make_config(data_dir, alerts=alerts_section(KEY))) as app:
            assert app.alerts is not None and app.alerts.keeper.current is not None
            assert app.alerts.keeper.current.version == 8


async def test_an_unreachable_server_is_reported_not_fatal(data_dir: Path) -> None:
    config = make_config(
        data_dir,
        sinks=[{"name": "regional", "kind": "http", "target": "http://127.0.0.1:9"}],
        alerts=alerts_section(KEY, fetch_sink="regional", fetch_interval=0.05),
    )
    async with running(config) as app:
        assert app.alerts is not None
        fetched = await first_fetch(app.alerts)
        assert fetched["ok"] is False and fetched["error"]
        assert app.alerts.status()["in_force"] is False
        assert app.alerts.keeper.last_refusal is None  # a network failure refuses no list


async def test_a_fetch_sink_must_be_an_http_sink(data_dir: Path, tmp_path: Path) -> None:
    config = make_config(
        data_dir,
        sinks=[{"name": "nas", "kind": "nas", "target": str(tmp_path)}],
        alerts=alerts_section(KEY, fetch_sink="nas"),
    )
    with pytest.raises(ConfigError, match=r"alerts\.fetch_sink: expected an http sink"):
        async with running(config):
            pass
    config = make_config(data_dir, alerts=alerts_section(KEY, fetch_sink="nowhere"))
    with pytest.raises(ConfigError, match="expected the name of a configured sink"):
        async with running(config):
            pass


async def test_a_drop_dir_that_cannot_be_made_is_a_config_error(data_dir: Path) -> None:
    (data_dir / "file").write_text("in the way")
    config = make_config(data_dir, alerts=alerts_section(KEY, drop_dir=str(data_dir / "file/x")))
    with pytest.raises(ConfigError, match=r"alerts\.drop_dir: expected a directory"):
        async with running(config):
            pass
