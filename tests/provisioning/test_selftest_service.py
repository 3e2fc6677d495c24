"""The self-test of a running service, and one daemon per data dir.

On a system run by systemd the self-test asks the running service through its local API
(devices READY, sinks reachable with its own settings, its records forwarded) instead of
starting a daemon of its own on its store; a daemon started on a data dir another daemon
holds is refused, whatever the unit's state said.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from agent.chain import PUBLIC_FILE, load_or_create_key
from edge.app import App
from edge.config import Config
from provisioning.selftest import run_selftest
from provisioning.selftest_service import run_service_selftest
from provisioning.service import is_running
from provisioning.ui import Console
from receiver.app import serve
from receiver.checks import Trust
from receiver.sqlite_store import SqliteStorage
from tests.helpers import make_config, running, sim_device

WAIT_S = 30.0


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[tuple[str, SqliteStorage]]:
    """A plain receiver on loopback that trusts the workstation's chain key."""
    data = tmp_path / "data"
    data.mkdir()
    load_or_create_key(data)
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "test-ws.pem").write_bytes((data / PUBLIC_FILE).read_bytes())
    storage = SqliteStorage(tmp_path / "receiver.db")
    await storage.open()
    try:
        async with serve(storage, Trust(trust)) as where:
            yield where.url, storage
    finally:
        await storage.close()


async def sink_reports(service: App, state: str, backlog: int) -> None:
    """Wait until the service's health shows the sink in `state` with `backlog` waiting."""
    async with asyncio.timeout(WAIT_S):
        while True:
            sink = service.sink_snapshots().get("region")
            shown = (sink["state"], sink["backlog"]) if isinstance(sink, dict) else None
            if shown == (state, backlog) and service.store.writer.last_seq == 1:
                return
            await asyncio.sleep(0.05)


def service_config(data: Path, target: str) -> Config:
    reader = sim_device("reader", profile="passport", interval=0.05, count=1)
    return make_config(
        data,
        devices=[reader],
        sinks=[{"name": "region", "kind": "http", "target": target}],
    )


def as_client_sees_it(config: Config, api_url: str) -> Config:
    """The config with the port the service really listens on."""
    listen = api_url.removeprefix("http://")
    return msgspec.structs.replace(config, api=msgspec.structs.replace(config.api, listen=listen))


async def test_the_running_service_is_checked_through_its_api(
    tmp_path: Path, receiver: tuple[str, SqliteStorage]
) -> None:
    url, storage = receiver
    config = service_config(tmp_path / "data", url)
    async with running(config) as service:
        async with asyncio.timeout(WAIT_S):
            while not (await storage.records("test-ws", 0, 10)).records:
                await asyncio.sleep(0.05)
        await sink_reports(service, "ok", 0)
        results = await run_service_selftest(
            as_client_sees_it(config, service.api_url), Console(io.StringIO())
        )
        checks = {r.name: (r.ok, r.detail) for r in results}
        assert checks["service answers"][0] is True
        assert checks["device reader ready"] == (True, "state ready")
        assert checks["sink region reachable"][0] is True
        assert checks["service forwards to region"] == (True, "state ok, 0 waiting")
        assert checks["documents and barcodes presented"][0] is None  # non-interactive
        # What the service read went to the region: no record of the self-test's own.
        page = await storage.records("test-ws", 0, 10)
        assert len(page.records) == 1
        assert json.loads(page.records[0].body)["device"]["name"] == "reader"
        # The self-test's daemon is never started beside the service on its store.
        beside = await run_selftest(config, Console(io.StringIO()), service.registry, None)
        assert [(r.name, r.ok) for r in beside] == [("daemon starts", False)]
        assert "another midas-edge daemon uses this data dir" in beside[0].detail
        assert service.store.writer.last_seq == 1  # the service went on undisturbed
        assert await service.store.query("SELECT count(*) FROM records") == [(1,)]


async def test_an_unreachable_sink_and_a_silent_service_are_failed_checks(
    tmp_path: Path,
) -> None:
    config = service_config(tmp_path / "data", "http://127.0.0.1:9/")  # discard: nobody there
    async with running(config) as service:
        await sink_reports(service, "unavailable", 1)
        results = await run_service_selftest(
            as_client_sees_it(config, service.api_url), Console(io.StringIO()), sink_timeout_s=0.0
        )
        checks = {r.name: r for r in results}
        assert checks["sink region reachable"].ok is False
        assert "unreachable" in checks["sink region reachable"].detail
        assert "check the network path" in checks["sink region reachable"].fix
        forwards = checks["service forwards to region"]
        assert (forwards.ok, forwards.detail.split(" (")[0]) == (
            False,
            "state unavailable, 1 waiting",
        )
        assert forwards.fix.startswith("midas-edge doctor")
        gone = service.api_url
    silent = await run_service_selftest(
        as_client_sees_it(config, gone), Console(io.StringIO()), start_timeout_s=0.0
    )
    assert [(r.name, r.ok) for r in silent] == [("service answers", False)]
    assert silent[0].fix == "journalctl -u midas-edge.service -n 50"


@pytest.mark.parametrize(
    ("state", "holds_the_store"),
    [
        ("active", True),
        ("reloading", True),
        ("activating", True),  # starting, or waiting to be restarted after a failure
        ("deactivating", True),
        ("inactive", False),
        ("failed", False),
        ("unknown", False),
    ],
)
def test_every_state_in_which_the_service_may_run_counts_as_running(
    state: str, holds_the_store: bool
) -> None:
    assert is_running(state) is holds_the_store
