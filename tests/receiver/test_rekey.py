"""A workstation re-keyed: its backlog sealed with the retired key is still delivered, a key the
receiver does not trust is refused, and its chain status tells a re-key from a cut chain (on a
real receiver, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent.chain import KEY_FILE, PUBLIC_FILE, Sealer, load_or_create_key
from agent.sink import Outgoing
from edge.app import App
from edge.cli import main as cli
from edge.wire import GENESIS, key_id, load_public_key
from receiver.app import serve
from receiver.checks import Trust
from receiver.storage import Storage
from receiver.trust import Registered, current_path, public_pem, register_key, retired_path
from tests.helpers import make_config, running, sim_device
from tests.receiver.support import Workstation, body_of, chain, drain, gz, rekeyed, send

GZIP = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
WAIT_S = 60.0


async def post(http: aiohttp.ClientSession, url: str, data: bytes) -> tuple[int, Any]:
    async with http.post(f"{url}/v1/batches", data=data, headers=GZIP) as resp:
        return resp.status, await resp.read()


async def refusal(http: aiohttp.ClientSession, url: str, data: bytes) -> tuple[int, object]:
    status, raw = await post(http, url, data)
    return status, msgspec.json.decode(raw)


async def test_a_backlog_sealed_before_a_rekey_is_delivered(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path
) -> None:
    old = ws.records(5)
    assert await send(http, url, ws, old[:2]) == [("stored", "")] * 2
    new = rekeyed(ws)
    registered = register_key(trust_dir, "ws-1", new.key.public_key())
    assert (registered.key_id, registered.retired) == (new.key_id, ws.key_id)
    # The backlog still sealed with the old key, then the first records of the new chain.
    assert await send(http, url, ws, old[2:]) == [("stored", "")] * 3
    fresh = new.records(3)
    assert fresh[0].prev == GENESIS
    assert await send(http, url, new, fresh) == [("stored", "")] * 3
    assert await send(http, url, ws, old[2:]) == [("duplicate", "")] * 3
    async with http.get(f"{url}/v1/records", params={"workstation": "ws-1"}) as resp:
        page = await resp.json()
    assert [(r["seq"], r["id"], r["key_id"]) for r in page["records"]] == [
        (r.seq, r.id, ws.key_id) for r in old
    ] + [(r.seq, r.id, new.key_id) for r in fresh]
    status = await chain(http, url, "ws-1")
    assert (status["count"], status["contiguous_to"], status["gaps"]) == (8, 8, [])
    assert (status["chain_starts"], status["breaks"]) == ([1, 6], [])
    assert status["keys"] == [
        {"key_id": ws.key_id, "first_seq": 1, "last_seq": 5, "count": 5},
        {"key_id": new.key_id, "first_seq": 6, "last_seq": 8, "count": 3},
    ]


async def test_unknown_revoked_and_misfiled_keys_are_refused(
    http: aiohttp.ClientSession,
    url: str,
    ws: Workstation,
    trust_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stranger = Workstation("ws-1")  # a key the receiver was never given
    unknown = (403, {"error": "unknown_key"})
    assert await refusal(http, url, gz(stranger.batch(stranger.records(1)))) == unknown
    for forged in ("../ws-1", "ws-1", "0123456789ABCDEF", "x"):
        assert await refusal(http, url, gz(ws.batch(ws.records(1), key_id=forged))) == unknown
    new = rekeyed(ws)
    register_key(trust_dir, "ws-1", new.key.public_key())
    retired = retired_path(trust_dir, "ws-1", ws.key_id)
    assert await send(http, url, ws, ws.records(1)) == [("stored", "")]
    # An operator revokes the old key: removing its file is enough.
    retired.unlink()
    with caplog.at_level(logging.WARNING, logger="receiver"):
        assert await refusal(http, url, gz(ws.batch(ws.records(1)))) == unknown
        # A file holding another key than its name says is no key of that id.
        retired.write_bytes(public_pem(stranger.key.public_key()))
        assert await refusal(http, url, gz(ws.batch(ws.records(1)))) == unknown
    assert f"{retired.name} holds key {stranger.key_id}" in caplog.text
    # Retired keys never make a workstation trusted whose current key was removed.
    retired.write_bytes(public_pem(ws.key.public_key()))
    current_path(trust_dir, "ws-1").unlink()
    untrusted = (403, {"error": "untrusted_workstation"})
    assert await refusal(http, url, gz(ws.batch(ws.records(1)))) == untrusted
    assert await refusal(http, url, gz(new.batch(new.records(1)))) == untrusted


async def test_a_chain_start_under_the_same_key_is_a_break_and_under_a_new_one_is_not(
    http: aiohttp.ClientSession, url: str, ws: Workstation, trust_dir: Path
) -> None:
    assert await send(http, url, ws, ws.records(3)) == [("stored", "")] * 3
    ws.sealer = Sealer("ws-1", ws.key)  # the same key starts over: seq 4 cuts the chain
    assert await send(http, url, ws, ws.records(2)) == [("stored", "")] * 2
    new = rekeyed(ws)
    register_key(trust_dir, "ws-1", new.key.public_key())
    assert await send(http, url, new, new.records(2)) == [("stored", "")] * 2
    status = await chain(http, url, "ws-1")
    assert (status["chain_starts"], status["breaks"], status["gaps"]) == ([1, 4, 6], [4], [])
    assert [k["key_id"] for k in status["keys"]] == [ws.key_id, new.key_id]
    # A record stored before its predecessor, which then arrives as another record that links
    # to seq 4 but not to the stored seq 6: seq 6 is reported.
    other = Workstation("ws-2")
    other.trust(trust_dir)
    honest = other.records(6)
    assert await send(http, url, other, honest[:4] + honest[5:]) == [("stored", "")] * 5
    fork = Sealer("ws-2", other.key, last=honest[3].hash)
    body = body_of(55)
    seal = fork.seal(5, body)
    forked = Outgoing(5, "fork-5", body, seal.prev, seal.hash, seal.sig)
    assert await send(http, url, other, [forked]) == [("stored", "")]
    status = await chain(http, url, "ws-2")
    assert (status["breaks"], status["chain_starts"], status["gaps"]) == ([6], [1], [])


def test_registering_a_key_keeps_the_one_it_replaces(tmp_path: Path) -> None:
    a, b = Ed25519PrivateKey.generate().public_key(), Ed25519PrivateKey.generate().public_key()
    first = register_key(tmp_path, "ws-1", a)
    assert (first.retired, first.changed) == (None, True)
    assert not (tmp_path / "retired").exists()
    assert register_key(tmp_path, "ws-1", a).changed is False
    second = register_key(tmp_path, "ws-1", b)
    assert second.retired == first.key_id
    assert current_path(tmp_path, "ws-1").read_bytes() == public_pem(b)
    assert retired_path(tmp_path, "ws-1", first.key_id).read_bytes() == public_pem(a)
    # The old key back (a restored backup): current again, the other one retired.
    third = register_key(tmp_path, "ws-1", a)
    assert third.retired == second.key_id
    assert current_path(tmp_path, "ws-1").read_bytes() == public_pem(a)
    assert sorted(p.name for p in (tmp_path / "retired").iterdir()) == [f"ws-1.{second.key_id}.pem"]


def test_registrations_at_once_keep_every_replaced_key(tmp_path: Path) -> None:
    """Enrollments run in threads: registrations of one workstation's keys at once each retire
    the key the one before made current, none is lost."""
    keys = [Ed25519PrivateKey.generate().public_key() for _ in range(12)]
    start = threading.Barrier(len(keys))

    def register(public: Ed25519PublicKey) -> Registered:
        start.wait(timeout=WAIT_S)
        return register_key(tmp_path, "ws-1", public)

    with ThreadPoolExecutor(len(keys)) as pool:
        done = list(pool.map(register, keys))
    ids = {key_id(k) for k in keys}
    current = key_id(load_public_key(current_path(tmp_path, "ws-1").read_bytes()))
    retired = {p.name.split(".")[1] for p in (tmp_path / "retired").iterdir()}
    assert retired == ids - {current}
    # One registration found no key, each other one retired the key another made current.
    assert sorted(r.retired or "" for r in done) == sorted(["", *retired])


def test_trust_key_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trust = tmp_path / "trust"
    trust.mkdir()
    stations = [Workstation("ws-1"), Workstation("ws-1"), Workstation("ws-1")]
    for n, station in enumerate(stations):
        (tmp_path / f"{n}.pub").write_bytes(public_pem(station.key.public_key()))
    args = ["receiver", "trust-key", "--trust", str(trust), "--workstation", "ws-1", "--key"]
    assert cli([*args, str(tmp_path / "0.pub")]) == 0
    assert capsys.readouterr().out == f"ws-1: key {stations[0].key_id} trusted\n"
    assert cli([*args, str(tmp_path / "1.pub")]) == 0
    out = capsys.readouterr().out
    kept = retired_path(trust, "ws-1", stations[0].key_id)
    assert f"retired: key {stations[0].key_id}, kept as {kept}" in out
    assert kept.exists()
    (tmp_path / "bad.pub").write_text("not a key\n")
    assert cli([*args, str(tmp_path / "bad.pub")]) == 1
    assert "not a PEM public key" in capsys.readouterr().err
    assert current_path(trust, "ws-1").read_bytes() == public_pem(stations[1].key.public_key())
    # A key that leaked is replaced without being kept: nothing it seals is accepted any more.
    assert cli([*args, str(tmp_path / "2.pub"), "--revoke-old"]) == 0
    out = capsys.readouterr().out
    assert f"revoked: key {stations[1].key_id}, not kept" in out
    assert "retired:" not in out
    assert current_path(trust, "ws-1").read_bytes() == public_pem(stations[2].key.public_key())
    assert [p.name for p in (trust / "retired").iterdir()] == [kept.name]
    # Again with the same key: nothing replaced, so nothing revoked, and it says what still counts.
    assert cli([*args, str(tmp_path / "2.pub"), "--revoke-old"]) == 1
    err = capsys.readouterr().err
    assert "--revoke-old revoked nothing" in err
    assert f"still trusted, retired: {kept} (remove it to revoke)" in err


async def test_the_daemon_delivers_its_backlog_across_a_rekey(
    storage: Storage,
    trust_dir: Path,
    data_dir: Path,
    unused_tcp_port: int,
    http: aiohttp.ClientSession,
) -> None:
    """The real daemon seals records while the region is unreachable, is re-keyed (its key file
    replaced, the new key registered at the region), and seals more: all of them arrive."""
    count = 6
    register_key(trust_dir, "test-ws", load_or_create_key(data_dir).public_key())
    config = make_config(
        data_dir,
        devices=[sim_device("reader", interval=0.005, count=count)],
        sinks=[
            {
                "name": "region",
                "kind": "http",
                "target": f"http://127.0.0.1:{unused_tcp_port}",
                "batch_records": 4,
                "interval": 0.2,
                "timeout": 10,
            }
        ],
        forwarding={"backoff_base": 0.05, "backoff_cap": 0.5},
    )

    async def sealed(app: App) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = await app.store.query(
            "SELECT s.seq, r.id, s.prev, s.key_id FROM seals s JOIN records r USING (seq) "
            "ORDER BY s.seq"
        )
        return rows

    async def delivered(app: App) -> int:
        rows = await app.store.query(
            "SELECT count(*) FROM deliveries WHERE sink = 'region' AND state = 'delivered'"
        )
        return int(rows[0][0])

    async with running(config) as app:
        async with asyncio.timeout(WAIT_S):
            while len(await sealed(app)) < count:
                await asyncio.sleep(0.02)
        assert await delivered(app) == 0
    (data_dir / KEY_FILE).unlink()
    new_key = load_or_create_key(data_dir)
    assert (data_dir / PUBLIC_FILE).read_bytes() == public_pem(new_key.public_key())
    registered = register_key(trust_dir, "test-ws", new_key.public_key())
    assert registered.retired is not None
    async with serve(storage, Trust(trust_dir), port=unused_tcp_port) as where:
        async with running(config) as app:
            async with asyncio.timeout(WAIT_S):
                while await delivered(app) < 2 * count:
                    await asyncio.sleep(0.05)
            rows = await sealed(app)
        async with http.get(f"{where.url}/v1/records", params={"workstation": "test-ws"}) as resp:
            by_seq = (await resp.json())["records"]
        status = await chain(http, where.url, "test-ws")
        # In order: the receiver got them as the workstation sealed them, old key first.
        listed, _ = await drain(http, where.url, None, 2 * count)
    assert [seq for seq, _, _, _ in rows] == list(range(1, 2 * count + 1))
    keys = [kid for _, _, _, kid in rows]
    assert keys == [registered.retired] * count + [registered.key_id] * count
    assert bytes(rows[count][2]) == GENESIS  # the new key started a new chain
    assert [(r["seq"], r["id"], r["key_id"]) for r in by_seq] == [
        (seq, rid, kid) for seq, rid, _, kid in rows
    ]
    assert listed == [rid for _, rid, _, _ in rows]
    assert (status["gaps"], status["breaks"]) == ([], [])
    assert status["chain_starts"] == [1, count + 1]
    assert [(k["key_id"], k["first_seq"], k["last_seq"]) for k in status["keys"]] == [
        (registered.retired, 1, count),
        (registered.key_id, count + 1, 2 * count),
    ]
