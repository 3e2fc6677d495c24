"""The daemon with alert lists: verdicts in records, hit events, stale lists, re-checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.base import Capture, CaptureKind, now_ms
from drivers.sim.driver import IATA_BCBP
from edge.app import App
from edge.records import DeviceRef, Record
from tests.alerts.support import (
    NOW,
    STOLEN,
    WANTED,
    alerts_section,
    clean_passport,
    drop,
    signed_list,
    stolen_passport,
    wanted_person_card,
)
from tests.helpers import make_config, next_of, running, sim_device, sse_events

KEY = Ed25519PrivateKey.generate()


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def stored(app: App) -> list[dict[str, Any]]:
    rows = await app.store.bodies_after(0, 1000)
    return [json.loads(body) for _, body in rows]


async def read(app: App, mrz: str) -> Record:
    """A document capture through the real pipeline; the record once committed."""
    assert app.pipeline is not None
    capture = Capture(CaptureKind.DOCUMENT, mrz.encode() + b"\r", now_ms(), text=mrz)
    done = await app.pipeline.submit(DeviceRef("desk", "sim"), capture)
    return await done


async def api(app: App, http: aiohttp.ClientSession, path: str) -> Any:
    auth = {"Authorization": f"Bearer {app.token}"}
    async with http.get(app.api_url + path, headers=auth) as resp:
        assert resp.status == 200, path
        return await resp.json()


async def test_committed_records_carry_the_verdict(data_dir: Path) -> None:
    drop(data_dir / "alert-drop", "list-1.bin", signed_list(KEY, version=1))
    passports = [stolen_passport(), wanted_person_card(), clean_passport()]
    config = make_config(
        data_dir,
        devices=[
            sim_device("reader", payloads=passports, interval=0.01, count=3),
            sim_device("scanner", profile="boarding-pass", payloads=[IATA_BCBP], count=1),
        ],
        alerts=alerts_section(KEY),
    )
    async with running(config) as app, aiohttp.ClientSession() as http:
        await until(lambda: app.store.writer.last_seq >= 4)
        records = await stored(app)
        by_number = {r["payload"]["fields"].get("document_number", "bcbp"): r for r in records}
        stolen = by_number["L0S70001"]
        assert stolen["payload"]["alert"] == {
            "verdict": "hit",
            "reason": None,
            "checked": ["document", "person"],
            "categories": ["lost_stolen"],
            "references": [{"category": "lost_stolen", "ref": "HQ-LS-0001"}],
            "list_version": 1,
            "list_issued_at": stolen["payload"]["alert"]["list_issued_at"],
            "list_expires_at": stolen["payload"]["alert"]["list_expires_at"],
            "stale": False,
            "unverified": False,
        }
        assert stolen["checks"]["alert_list"] == "failed"
        assert stolen["verdict"] == "valid"  # the document itself is genuine-looking
        wanted = by_number["X99887766"]["payload"]["alert"]
        assert (wanted["verdict"], wanted["categories"]) == ("hit", ["person_of_interest"])
        clean = by_number["C4421907"]
        assert clean["payload"]["alert"]["verdict"] == "no_hit"
        assert clean["checks"]["alert_list"] == "passed"
        boarding = by_number["bcbp"]
        assert boarding["payload"]["alert"]["verdict"] == "not_checked"
        assert boarding["payload"]["alert"]["reason"] == "no_birth_date"
        assert boarding["checks"]["alert_list"] == "not_applicable"
        assert not any(w["code"].startswith("alert_list") for r in records for w in r["warnings"])

        status = await api(app, http, "/v1/alerts/status")
        assert (status["version"], status["entries"], status["stale"]) == (1, 3, False)
        assert status["source"] == "drop:list-1.bin"
        async with http.get(app.api_url + "/metrics") as resp:
            metrics = await resp.text()
        assert 'midas_alert_hits_total{category="lost_stolen",late="false"} 1.0' in metrics
        assert 'midas_alert_checks_total{stale="false",verdict="no_hit"} 1.0' in metrics
        assert "midas_alert_list_version 1.0" in metrics


async def test_a_hit_is_an_event_right_after_its_record(data_dir: Path) -> None:
    drop(data_dir / "alert-drop", "list.bin", signed_list(KEY, version=4))
    config = make_config(data_dir, alerts=alerts_section(KEY))
    async with running(config) as app, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {app.token}"}
        async with http.get(app.api_url + "/v1/events", headers=auth) as resp:
            events = sse_events(resp)
            await next_of(events, "hello")
            record = await read(app, stolen_passport())
            seen = []
            async with asyncio.timeout(10):
                async for event in events:
                    seen.append(event)
                    if event.type == "alert_hit":
                        break
        kinds = [e.type for e in seen if e.type in ("record", "alert_hit")]
        assert kinds == ["record", "alert_hit"]
        hit = seen[-1].data
        assert hit == {
            "record_id": record.id,
            "seq": record.seq,
            "list_version": 4,
            "categories": ["lost_stolen"],
            "references": [{"category": "lost_stolen", "ref": "HQ-LS-0001"}],
            "stale": False,
            "unverified": False,
            "late": False,
            "amends": None,
        }


async def test_a_stale_list_still_checks_and_says_so(data_dir: Path) -> None:
    old = signed_list(KEY, version=2, issued=NOW - dt.timedelta(days=10), days=3)
    drop(data_dir / "alert-drop", "old.bin", old)
    config = make_config(data_dir, alerts=alerts_section(KEY))
    async with running(config) as app, aiohttp.ClientSession() as http:
        record = await read(app, stolen_passport())
        assert record.payload["alert"]["verdict"] == "hit"
        assert record.payload["alert"]["stale"] is True
        assert "alert_list_stale" in [w.code for w in record.warnings]
        clean = await read(app, clean_passport())
        assert clean.payload["alert"]["stale"] is True
        status = await api(app, http, "/v1/alerts/status")
        assert status["stale"] is True and status["expires_in_s"] < 0
        async with http.get(app.api_url + "/v1/health") as resp:
            health = await resp.json()
        assert health["status"] == "degraded"
        assert "alert_list_stale" in [a["code"] for a in health["alarms"]]


async def test_required_without_a_list_is_an_alarm_until_one_arrives(data_dir: Path) -> None:
    config = make_config(data_dir, alerts=alerts_section(KEY, required=True))
    async with running(config) as app:
        assert app.alarms.is_active("alert_list_missing")
        record = await read(app, stolen_passport())
        assert record.payload["alert"]["verdict"] == "not_checked"
        assert record.payload["alert"]["reason"] == "no_list"
        assert record.checks["alert_list"] == "undetermined"
        assert "alert_list_missing" in [w.code for w in record.warnings]
        drop(data_dir / "alert-drop", "first.bin", signed_list(KEY, version=1))
        await until(lambda: not app.alarms.is_active("alert_list_missing"))
        # The record captured without a list is re-checked: its hit comes late, as an amendment.
        await until(lambda: app.store.writer.last_seq >= 2)
        (amendment,) = [r for r in await stored(app) if r["kind"] == "amendment"]
        assert amendment["payload"]["amends"]["id"] == record.id


async def test_a_newer_list_rechecks_and_amends_late_hits_once(data_dir: Path) -> None:
    drop(data_dir / "alert-drop", "v1.bin", signed_list(KEY, [WANTED], version=1))
    config = make_config(data_dir, alerts=alerts_section(KEY))
    async with running(config) as app, aiohttp.ClientSession() as http:
        stolen = await read(app, stolen_passport())
        wanted = await read(app, wanted_person_card())
        assert stolen.payload["alert"]["verdict"] == "no_hit"
        assert wanted.payload["alert"]["verdict"] == "hit"
        auth = {"Authorization": f"Bearer {app.token}"}
        async with http.get(app.api_url + "/v1/events", headers=auth) as resp:
            events = sse_events(resp)
            await next_of(events, "hello")
            drop(data_dir / "alert-drop", "v2.bin", signed_list(KEY, [STOLEN, WANTED], version=2))
            listed = await next_of(events, "alert_list")
            late = await next_of(events, "alert_hit")
        assert (listed.data["version"], listed.data["previous"]) == (2, 1)
        assert late.data["late"] is True and late.data["amends"] == stolen.id
        assert late.data["list_version"] == 2 and late.data["categories"] == ["lost_stolen"]
        (amendment,) = [r for r in await stored(app) if r["kind"] == "amendment"]
        assert amendment["id"] == late.data["record_id"]
        assert amendment["payload"]["amends"] == {
            "id": stolen.id,
            "seq": stolen.seq,
            "captured_at": stolen.captured_at,
            "kind": "document",
        }
        assert amendment["payload"]["alert"]["verdict"] == "hit"
        assert amendment["checks"]["alert_list"] == "failed"
        assert amendment["device"] == {"name": "alert-lists", "driver": "recheck"}
        # Like every record, it is sealed into the signed chain that the sinks forward.
        sealed = "SELECT count(*) FROM seals WHERE seq = ?"
        async with asyncio.timeout(10):
            while (await app.store.query(sealed, (amendment["seq"],)))[0][0] != 1:
                await asyncio.sleep(0.02)
        status = await api(app, http, "/v1/alerts/status")
        assert status["recheck"] == {"through_version": 2, "running": False}

    # A restart does not re-check again; a newer list with the same entries amends nothing new.
    async with running(config) as app:
        drop(data_dir / "alert-drop", "v3.bin", signed_list(KEY, [STOLEN, WANTED], version=3))
        await until(
            lambda: (
                app.alerts is not None
                and app.alerts.status()["recheck"]
                == {
                    "through_version": 3,
                    "running": False,
                }
            )
        )
        kinds = [r["kind"] for r in await stored(app)]
        assert kinds.count("amendment") == 1


async def test_a_bad_drop_is_refused_visibly_and_the_list_stays(data_dir: Path) -> None:
    drop(data_dir / "alert-drop", "good.bin", signed_list(KEY, version=5))
    config = make_config(data_dir, alerts=alerts_section(KEY))
    async with running(config) as app, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {app.token}"}
        async with http.get(app.api_url + "/v1/events", headers=auth) as resp:
            events = sse_events(resp)
            await next_of(events, "hello")
            forged = signed_list(Ed25519PrivateKey.generate(), version=6)
            drop(data_dir / "alert-drop", "forged.bin", forged)
            refused = await next_of(events, "alert_list_refused")
        assert refused.data == {
            "source": "drop:forged.bin",
            "reason": "wrong_key",
            "message": refused.data["message"],
            "version": 6,
        }
        status = await api(app, http, "/v1/alerts/status")
        assert status["version"] == 5
        assert status["last_refusal"]["code"] == "wrong_key"
        record = await read(app, stolen_passport())
        assert record.payload["alert"]["list_version"] == 5


async def test_without_an_alerts_section_records_are_unchanged(data_dir: Path) -> None:
    async with running(make_config(data_dir)) as app, aiohttp.ClientSession() as http:
        record = await read(app, stolen_passport())
        assert "alert" not in record.payload and "alert_list" not in record.checks
        auth = {"Authorization": f"Bearer {app.token}"}
        async with http.get(app.api_url + "/v1/alerts/status", headers=auth) as resp:
            assert resp.status == 404
