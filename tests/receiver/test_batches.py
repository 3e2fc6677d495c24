"""POST /v1/batches on a real receiver (SQLite and PostgreSQL): verification, dedup, refusals."""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.chain import Sealer
from agent.sink import Outgoing
from edge.wire import MAX_BATCH_BYTES, Batch, Receipt, receipts_decoder
from receiver import StorageError
from receiver.checks import Trust, check
from receiver.sqlite_store import SqliteStorage
from receiver.storage import START, Storage
from tests.receiver.support import Workstation, body_of, gz

GZIP = {"Content-Encoding": "gzip", "Content-Type": "application/json"}


async def post(
    http: aiohttp.ClientSession, url: str, data: bytes, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    chosen = GZIP if headers is None else headers
    # A stream: aiohttp warns about (and tests fail on) raw bytes bodies above 1 MiB.
    async with http.post(f"{url}/v1/batches", data=io.BytesIO(data), headers=chosen) as resp:
        return resp.status, await resp.read()


async def send(http: aiohttp.ClientSession, url: str, batch: Batch) -> list[Receipt]:
    status, raw = await post(http, url, gz(batch))
    assert status == 200, raw
    return receipts_decoder.decode(raw).receipts


def statuses(receipts: list[Receipt]) -> list[tuple[str, str]]:
    return [(r.status.value, r.reason) for r in receipts]


async def test_stored_then_duplicate_on_resend(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    records = ws.records(5)
    first = await send(http, url, ws.batch(records))
    assert [(r.id, r.seq) for r in first] == [(r.id, r.seq) for r in records]
    assert statuses(first) == [("stored", "")] * 5
    again = await send(http, url, ws.batch(records))
    assert statuses(again) == [("duplicate", "")] * 5
    # A resend overlapping new records: old ones duplicate, new ones stored, one row each.
    more = ws.records(2)
    mixed = await send(http, url, ws.batch(records[3:] + more))
    assert statuses(mixed) == [("duplicate", "")] * 2 + [("stored", "")] * 2
    async with http.get(f"{url}/v1/records", params={"workstation": "ws-1"}) as resp:
        page = await resp.json()
    assert [r["seq"] for r in page["records"]] == [1, 2, 3, 4, 5, 6, 7]
    assert page["records"][0]["body"] == records[0].body.decode()


async def test_tampered_body_is_rejected_alone(
    http: aiohttp.ClientSession, url: str, ws: Workstation, caplog: pytest.LogCaptureFixture
) -> None:
    records = ws.records(3)
    secret = b'{"n":2,"name":"DOE JOHN"}'
    records[1] = replace(records[1], body=secret)
    with caplog.at_level(logging.DEBUG):
        receipts = await send(http, url, ws.batch(records))
    assert statuses(receipts) == [("stored", ""), ("rejected", "hash_mismatch"), ("stored", "")]
    assert "DOE" not in caplog.text
    assert records[1].id in caplog.text  # logged by id


async def test_wrong_signing_key_is_bad_signature(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    forger = Workstation("ws-1", key=Ed25519PrivateKey.generate())
    receipts = await send(http, url, forger.batch(forger.records(3), key_id=ws.key_id))
    assert statuses(receipts) == [("rejected", "bad_signature")] * 3


async def test_untrusted_workstation_and_unknown_key_are_refused(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    stranger = Workstation("ws-9")
    status, raw = await post(http, url, gz(stranger.batch(stranger.records(1))))
    assert (status, msgspec.json.decode(raw)) == (403, {"error": "untrusted_workstation"})
    other = Workstation("ws-1")  # a new key the receiver was not given
    status, raw = await post(http, url, gz(other.batch(other.records(1))))
    assert (status, msgspec.json.decode(raw)) == (403, {"error": "unknown_key"})


async def test_chain_broken_across_batches_and_gaps(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    assert statuses(await send(http, url, ws.batch(ws.records(3)))) == [("stored", "")] * 3
    # Same key, another history: seq 4 does not link to the stored seq 3.
    fork = Sealer("ws-1", ws.key, last=bytes(range(32)))
    body = body_of(4)
    seal = fork.seal(4, body)
    forked = Outgoing(4, "fork-4", body, seal.prev, seal.hash, seal.sig)
    assert statuses(await send(http, url, ws.batch([forked]))) == [("rejected", "chain_broken")]
    # Seq 4 is missing here (not sent yet): 5 and 6 are a gap, not a break.
    r4, r5, r6 = ws.records(3)
    assert statuses(await send(http, url, ws.batch([r5, r6]))) == [("stored", "")] * 2
    async with http.get(f"{url}/v1/workstations/ws-1/chain") as resp:
        chain = await resp.json()
    assert chain["last_seq"] == 6
    assert chain["contiguous_to"] == 3
    assert chain["gaps"] == [[4, 4]]
    assert statuses(await send(http, url, ws.batch([r4]))) == [("stored", "")]
    async with http.get(f"{url}/v1/workstations/ws-1/chain") as resp:
        chain = await resp.json()
    assert (chain["contiguous_to"], chain["gaps"], chain["count"]) == (6, [], 6)


async def test_same_id_other_record_is_a_conflict(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    first, second = ws.records(2)
    await send(http, url, ws.batch([first]))
    stolen = replace(second, id=first.id)
    assert statuses(await send(http, url, ws.batch([stolen]))) == [("rejected", "conflict")]
    # The same id twice in one batch, for two records: the second is a conflict.
    a, b = ws.records(2)
    twin = replace(b, id=a.id)
    assert statuses(await send(http, url, ws.batch([a, twin]))) == [
        ("stored", ""),
        ("rejected", "conflict"),
    ]


async def test_chain_restart_is_a_chain_start(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    await send(http, url, ws.batch(ws.records(2)))
    ws.sealer = Sealer("ws-1", ws.key)  # a quarantined store: a new chain from genesis
    assert statuses(await send(http, url, ws.batch(ws.records(1)))) == [("stored", "")]
    async with http.get(f"{url}/v1/workstations/ws-1/chain") as resp:
        chain = await resp.json()
    assert chain["chain_starts"] == [1, 3]
    # Under the key that sealed seq 2 the new chain cuts the old one: stored, and reported.
    assert chain["breaks"] == [3]


def _raw(ws: Workstation, **changes: Any) -> bytes:
    doc = msgspec.to_builtins(ws.batch(ws.records(1)))
    for key, value in changes.items():
        if key.startswith("rec_"):
            doc["records"][0][key[4:]] = value
        else:
            doc[key] = value
    return gzip.compress(msgspec.json.encode(doc))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"format": "other"}, "unsupported_format"),
        ({"version": 2}, "unsupported_version"),
        ({"extra": 1}, "bad_batch"),
        ({"workstation": "../etc"}, "bad_workstation"),
        ({"rec_prev": "zz" * 32}, "bad_record"),
        ({"rec_sig": "00"}, "bad_record"),
        ({"rec_seq": 0}, "bad_record"),
        ({"rec_id": "x" * 65}, "bad_record"),
    ],
)
async def test_malformed_batches_are_400(
    http: aiohttp.ClientSession, url: str, ws: Workstation, changes: dict[str, Any], reason: str
) -> None:
    status, raw = await post(http, url, _raw(ws, **changes))
    assert (status, msgspec.json.decode(raw)) == (400, {"error": reason})


async def test_bad_bodies_are_refused_with_a_reason(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    cases = [
        (gzip.compress(b"{not json"), GZIP, 400, "bad_json"),
        (b"not gzip at all", GZIP, 400, "bad_gzip"),
        (gzip.compress(b'{"format":')[:-6], GZIP, 400, "bad_gzip"),
        (b"{}", {"Content-Encoding": "br"}, 415, "unsupported_encoding"),
        (msgspec.json.encode(ws.batch(ws.records(1))), {}, 200, None),
    ]
    for data, headers, want_status, reason in cases:
        status, raw = await post(http, url, data, headers)
        assert status == want_status, (raw, reason)
        if reason is not None:
            assert msgspec.json.decode(raw) == {"error": reason}


async def test_gzip_bomb_and_oversized_bodies_are_413(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    bomb = gzip.compress(b" " * (MAX_BATCH_BYTES + 1), 9)
    assert len(bomb) < 100_000
    status, raw = await post(http, url, bomb)
    assert (status, msgspec.json.decode(raw)) == (413, {"error": "too_large"})
    status, raw = await post(http, url, b"\0" * (MAX_BATCH_BYTES + 1))
    assert (status, msgspec.json.decode(raw)) == (413, {"error": "too_large"})
    # The receiver still works afterwards.
    assert statuses(await send(http, url, ws.batch(ws.records(1)))) == [("stored", "")]


async def test_storage_failure_is_503_with_retry_after(
    http: aiohttp.ClientSession, url: str, ws: Workstation, storage: Storage
) -> None:
    await storage.close()
    status, raw = await post(http, url, gz(ws.batch(ws.records(1))))
    assert (status, msgspec.json.decode(raw)) == (503, {"error": "storage_unavailable"})
    async with http.get(f"{url}/v1/health") as resp:
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"


async def test_sqlite_batch_whose_insert_falls_short_rolls_back(
    tmp_path: Path, trust_dir: Path, ws: Workstation
) -> None:
    store = SqliteStorage(tmp_path / "short.db")
    await store.open()
    try:
        # A trigger drops one row silently: the insert count no longer matches the decisions.
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            conn.execute(
                "CREATE TRIGGER drop_seq_2 BEFORE INSERT ON records WHEN NEW.seq = 2 "
                "BEGIN SELECT RAISE(IGNORE); END"
            )
            conn.commit()
        batch = check(gz(ws.batch(ws.records(3))), "gzip", Trust(trust_dir))
        with pytest.raises(StorageError, match="already stored"):
            await store.ingest(batch.workstation, batch.key_id, batch.records, 0.0)
        assert (await store.listing(START, 10)).records == []
    finally:
        await store.close()
