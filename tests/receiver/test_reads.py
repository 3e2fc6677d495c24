"""Blobs, record listings, workstations, chain status and health on a real receiver."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp

from tests.receiver.support import Workstation, drain, gz

GZIP = {"Content-Encoding": "gzip"}


async def test_blobs_are_verified_stored_and_idempotent(
    http: aiohttp.ClientSession, url: str
) -> None:
    data = b"\xff\xd8 a portrait " * 100
    digest = hashlib.sha256(data).hexdigest()
    async with http.head(f"{url}/v1/blobs/{digest}") as resp:
        assert resp.status == 404
    async with http.put(f"{url}/v1/blobs/{digest}", data=data) as resp:
        assert resp.status == 201
        assert await resp.json() == {"sha256": digest, "size": len(data), "status": "stored"}
    async with http.put(f"{url}/v1/blobs/{digest}", data=data) as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "duplicate"
    async with http.head(f"{url}/v1/blobs/{digest}") as resp:
        assert resp.status == 200
    async with http.get(f"{url}/v1/blobs/{digest}") as resp:
        assert resp.status == 200
        assert await resp.read() == data
    other = hashlib.sha256(b"other").hexdigest()
    async with http.put(f"{url}/v1/blobs/{other}", data=data) as resp:
        assert (resp.status, await resp.json()) == (400, {"error": "digest_mismatch"})
    async with http.get(f"{url}/v1/blobs/{other}") as resp:
        assert (resp.status, await resp.json()) == (404, {"error": "not_found"})
    async with http.get(f"{url}/v1/blobs/NOT-A-DIGEST") as resp:
        assert (resp.status, await resp.json()) == (400, {"error": "bad_digest"})


async def test_records_pages_and_lookup(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path
) -> None:
    other = Workstation("ws-2")
    other.trust(trust_dir)
    mine = ws.records(5)
    theirs = other.records(2)
    for station, records in ((ws, mine[:3]), (other, theirs), (ws, mine[3:])):
        async with http.post(f"{url}/v1/batches", data=gz(station.batch(records)), headers=GZIP):
            pass
    # Pages of 4, in commit order (on PostgreSQL once every older transaction of the server
    # ended: read on until all are listed).
    listed, _ = await drain(http, url, None, 7, limit=4)
    assert listed == [r.id for r in mine[:3] + theirs + mine[3:]]
    async with http.get(
        f"{url}/v1/records", params={"workstation": "ws-1", "after": "2", "limit": "2"}
    ) as resp:
        page = await resp.json()
    assert [r["seq"] for r in page["records"]] == [3, 4]
    assert page["next"] == "4"
    async with http.get(f"{url}/v1/records/{mine[0].id}") as resp:
        record = await resp.json()
    assert record["hash"] == mine[0].hash.hex()
    assert record["sig"] == mine[0].sig.hex()
    assert record["key_id"] == ws.key_id
    assert record["body"] == mine[0].body.decode()
    async with http.get(f"{url}/v1/records/nope") as resp:
        assert (resp.status, await resp.json()) == (404, {"error": "not_found"})
    for bad in ({"limit": "0"}, {"limit": "x"}, {"after": "-1"}, {"workstation": "a/b"}):
        async with http.get(f"{url}/v1/records", params=bad) as resp:
            assert resp.status == 400
    async with http.get(f"{url}/v1/workstations") as resp:
        listed = (await resp.json())["workstations"]
    assert [(w["workstation"], w["count"], w["last_seq"]) for w in listed] == [
        ("ws-1", 5, 5),
        ("ws-2", 2, 2),
    ]
    async with http.get(f"{url}/v1/workstations/ws-3/chain") as resp:
        assert resp.status == 404


async def test_health(http: aiohttp.ClientSession, url: str) -> None:
    async with http.get(f"{url}/v1/health") as resp:
        assert (resp.status, await resp.json()) == (200, {"status": "ok"})
