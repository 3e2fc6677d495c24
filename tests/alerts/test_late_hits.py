"""Late alert hits: an alarm per amendment until an officer acknowledges it, across restarts;
and a record checked before a newer list but committed after its re-check scan is re-checked."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.base import Capture, CaptureKind, now_ms
from edge.alerts.keeper import Offered
from edge.alerts.late import CODE_PREFIX, LATE_FILE
from edge.app import App
from edge.normalize import Normalizer, document_parsers
from edge.records import DeviceRef
from tests.alerts.support import (
    NOW,
    STOLEN,
    WANTED,
    alerts_section,
    drop,
    signed_list,
    stolen_passport,
)
from tests.alerts.test_daemon import read, stored, until
from tests.helpers import make_config, running

KEY = Ed25519PrivateKey.generate()


def late_alarms(app: App) -> list[str]:
    return [a.code for a in app.alarms.active() if a.code.startswith(CODE_PREFIX)]


async def ack(app: App, http: aiohttp.ClientSession, code: str) -> tuple[int, Any]:
    auth = {"Authorization": f"Bearer {app.token}"}
    async with http.post(f"{app.api_url}/v1/alarms/{code}/ack", headers=auth) as resp:
        return resp.status, await resp.json()


async def test_a_late_hit_is_an_alarm_until_an_officer_acknowledges_it(data_dir: Path) -> None:
    drop(data_dir / "alert-drop", "v1.bin", signed_list(KEY, [WANTED], version=1))
    config = make_config(data_dir, alerts=alerts_section(KEY))
    async with running(config) as app, aiohttp.ClientSession() as http:
        stolen = await read(app, stolen_passport())
        assert stolen.payload["alert"]["verdict"] == "no_hit"
        # The next list is already past its expiry: it still checks, and raises its own alarm.
        late_list = signed_list(
            KEY, [STOLEN, WANTED], version=2, issued=NOW - dt.timedelta(days=10), days=3
        )
        drop(data_dir / "alert-drop", "v2.bin", late_list)
        await until(lambda: bool(late_alarms(app)))
        (amendment,) = [r for r in await stored(app) if r["kind"] == "amendment"]
        (code,) = late_alarms(app)
        assert code == f"alert_late_hit:{amendment['id']}"
        alarm = next(a for a in app.alarms.active() if a.code == code)
        assert alarm.ack_required is True
        assert f"amendment record {amendment['seq']}" in alarm.message
        assert "alert list v2" in alarm.message and "lost stolen" in alarm.message
        for personal in ("HOLM", "PER", "L0S7", "810202", STOLEN["ref"]):
            assert personal not in alarm.message
        async with http.get(app.api_url + "/v1/health") as resp:
            health = await resp.json()
        assert health["status"] == "degraded"
        assert code in [a["code"] for a in health["alarms"]]
    kept = json.loads((data_dir / LATE_FILE).read_text())
    assert [(h["amendment"], h["amends"]) for h in kept] == [(amendment["id"], stolen.id)]

    # A restart raises it again: a hit found while nobody watched is still there to see.
    async with running(config) as app, aiohttp.ClientSession() as http:
        assert late_alarms(app) == [code]
        # A condition clears by itself once fixed; it cannot be acknowledged away.
        assert app.alarms.is_active("alert_list_stale")
        status, answer = await ack(app, http, "alert_list_stale")
        assert (status, answer["outcome"]) == (409, "clears_by_itself")
        assert app.alarms.is_active("alert_list_stale")
        status, answer = await ack(app, http, code)
        assert (status, answer) == (200, {"code": code, "outcome": "acknowledged"})
        assert late_alarms(app) == []
        status, _ = await ack(app, http, code)
        assert status == 404
        async with http.post(f"{app.api_url}/v1/alarms/{code}/ack") as resp:
            assert resp.status == 401  # an officer's act: never without credentials
    # Kept by the time the daemon has stopped, however soon after the acknowledgement.
    assert json.loads((data_dir / LATE_FILE).read_text()) == []

    async with running(config) as app:
        assert late_alarms(app) == []  # acknowledged for good


async def test_a_record_committed_after_the_recheck_scan_is_still_rechecked(
    data_dir: Path,
) -> None:
    drop(data_dir / "alert-drop", "v1.bin", signed_list(KEY, [WANTED], version=1))
    config = make_config(data_dir, alerts=alerts_section(KEY))
    async with running(config) as app:
        service = app.alerts
        assert service is not None
        normalize = Normalizer("test-ws", document_parsers())
        mrz = stolen_passport()
        capture = Capture(CaptureKind.DOCUMENT, mrz.encode() + b"\r", now_ms(), text=mrz)
        # The pipeline checks the read under list 1 ...
        checked = service.checker(normalize(capture, DeviceRef("desk", "sim")))
        assert checked.payload["alert"]["list_version"] == 1
        assert checked.payload["alert"]["verdict"] == "no_hit"
        # ... list 2, which names the passport, is put in force and its re-check scan ends ...
        newer = signed_list(KEY, [STOLEN, WANTED], version=2)
        assert await service.keeper.offer(newer, "server") is Offered.ACCEPTED
        await service.rechecks_done()
        assert service.status()["recheck"] == {"through_version": 2, "running": False}
        assert [r for r in await stored(app) if r["kind"] == "amendment"] == []
        # ... and only then is the read committed.
        committed = await (await app.store.append(checked))
        await service.rechecks_done()
        (amendment,) = [r for r in await stored(app) if r["kind"] == "amendment"]
        assert amendment["payload"]["amends"]["id"] == committed.id
        assert amendment["payload"]["alert"]["list_version"] == 2
        assert amendment["payload"]["alert"]["categories"] == ["lost_stolen"]
        # A read checked under list 2 is not checked again.
        fresh = await read(app, stolen_passport())
        assert fresh.payload["alert"]["verdict"] == "hit"
        await service.rechecks_done()
        assert [r["kind"] for r in await stored(app)].count("amendment") == 1
