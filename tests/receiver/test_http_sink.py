"""HttpSink against the real receiver (SQLite, PostgreSQL, TLS and mTLS; the receiver fixtures of
conftest.py) and a scripted server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web

from agent.http_sink import HttpSink, parse_retry_after
from agent.sink import (
    BatchTooLarge,
    BlobFile,
    Delivery,
    SinkConfigError,
    SinkUnavailable,
    TransientError,
)
from edge.config import SinkConfig
from receiver.app import serve
from receiver.checks import Trust
from receiver.main import server_tls
from receiver.storage import Storage
from tests.receiver.support import Workstation, make_pki


@contextlib.asynccontextmanager
async def sink_for(ws: Workstation, target: str, **options: Any) -> AsyncIterator[HttpSink]:
    config = SinkConfig(name="region", kind="http", target=target, **options)
    sink = HttpSink(config, ws.name, ws.key_id)
    await sink.open()
    try:
        yield sink
    finally:
        await sink.close()


def outcomes(deliveries: list[Delivery]) -> list[tuple[int, str, str]]:
    return [(d.seq, d.outcome.value, d.reason) for d in deliveries]


async def test_stored_then_duplicate_then_tampered(
    storage: Storage, trust_dir: Path, ws: Workstation
) -> None:
    records = ws.records(4)
    async with serve(storage, Trust(trust_dir)) as where, sink_for(ws, where.url) as sink:
        first = await sink.send(records)
        assert outcomes(first) == [(r.seq, "delivered", "") for r in records]
        receipt = msgspec.json.decode(first[0].receipt)
        assert receipt == {"id": records[0].id, "seq": 1, "status": "stored"}
        again = await sink.send(records)
        assert [msgspec.json.decode(d.receipt)["status"] for d in again] == ["duplicate"] * 4
        nxt = ws.records(2)
        tampered = replace(nxt[0], body=b'{"n":5,"name":"X"}')
        assert outcomes(await sink.send([tampered, nxt[1]])) == [
            (5, "rejected", "hash_mismatch"),
            (6, "delivered", ""),
        ]


async def test_untrusted_workstation_and_wrong_key_are_not_dead_letters(
    storage: Storage, trust_dir: Path, ws: Workstation
) -> None:
    stranger = Workstation("ws-9")
    rekeyed = Workstation("ws-1")  # a new key the receiver has not been given
    async with serve(storage, Trust(trust_dir)) as where:
        for station in (stranger, rekeyed):
            async with sink_for(station, where.url) as sink:
                with pytest.raises(SinkUnavailable, match="403"):
                    await sink.send(station.records(2))


async def test_chain_broken_across_batches(
    storage: Storage, trust_dir: Path, ws: Workstation
) -> None:
    first = ws.records(2)
    ws.next_seq = 2  # seqs 2..3 sealed again on another history
    ws.sealer.last = bytes(31) + b"\x01"
    forked = ws.records(2)
    async with serve(storage, Trust(trust_dir)) as where, sink_for(ws, where.url) as sink:
        assert outcomes(await sink.send(first)) == [(1, "delivered", ""), (2, "delivered", "")]
        # 3 links to the forked 2 but not to the 2 stored: both are a broken chain.
        assert outcomes(await sink.send(forked)) == [
            (2, "rejected", "chain_broken"),
            (3, "rejected", "chain_broken"),
        ]


async def test_blobs_go_before_the_batch(
    storage: Storage, trust_dir: Path, ws: Workstation, tmp_path: Path
) -> None:
    image = b"\xff\xd8 portrait bytes" * 50
    path = tmp_path / "blob.jpg"
    path.write_bytes(image)
    digest = hashlib.sha256(image).hexdigest()
    blob = BlobFile(digest, "image/jpeg", len(image), str(path))
    gone = BlobFile("0" * 64, "image/jpeg", 1, str(tmp_path / "missing.jpg"))
    a, b, c = ws.records(3)
    async with serve(storage, Trust(trust_dir)) as where, sink_for(ws, where.url) as sink:
        sent = await sink.send([replace(a, blobs=(blob,)), replace(b, blobs=(gone,)), c])
        assert outcomes(sent) == [
            (1, "delivered", ""),
            (2, "rejected", "blob_missing"),
            (3, "delivered", ""),
        ]
        assert await storage.get_blob(digest) == image
        path.unlink()  # the server has it: HEAD says so, nothing is read again
        assert outcomes(await sink.send([replace(a, blobs=(blob,))]))[0][1] == "delivered"


async def test_mutual_tls(
    storage: Storage, trust_dir: Path, ws: Workstation, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    other = make_pki(tmp_path / "other", prefix="other-")
    tls = server_tls(str(pki.server_cert), str(pki.server_key), str(pki.ca))
    mtls = {"ca": str(pki.ca), "cert": str(pki.client_cert), "key": str(pki.client_key)}
    async with serve(storage, Trust(trust_dir), ssl_context=tls) as where:
        assert where.url.startswith("https://127.0.0.1:")
        async with sink_for(ws, where.url, **mtls) as sink:
            assert outcomes(await sink.send(ws.records(1))) == [(1, "delivered", "")]
        localhost = where.url.replace("127.0.0.1", "localhost")
        async with sink_for(ws, localhost, **mtls) as sink:
            assert outcomes(await sink.send(ws.records(1))) == [(2, "delivered", "")]
        async with sink_for(ws, where.url, ca=str(pki.ca)) as sink:  # no client certificate
            with pytest.raises(TransientError):
                await sink.send(ws.records(1))
        wrong_pin = {**mtls, "ca": str(other.ca)}
        async with sink_for(ws, where.url, **wrong_pin) as sink:
            with pytest.raises(SinkUnavailable, match="TLS"):
                await sink.send(ws.records(1))
        foreign = {**mtls, "cert": str(other.client_cert), "key": str(other.client_key)}
        async with sink_for(ws, where.url, **foreign) as sink:
            with pytest.raises(TransientError):
                await sink.send(ws.records(1))


def test_bad_tls_files_are_config_errors(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    ws = Workstation("ws-1")
    target = "https://127.0.0.1:1"
    cases: list[dict[str, Any]] = [
        {"ca": str(tmp_path / "missing.pem")},
        {"ca": str(garbage)},
        {"ca": str(pki.ca), "cert": str(garbage), "key": str(pki.client_key)},
        {"ca": str(pki.ca), "cert": str(pki.client_cert), "key": str(pki.server_key)},
    ]
    for options in cases:
        config = SinkConfig(name="region", kind="http", target=target, **options)
        with pytest.raises(SinkConfigError):
            HttpSink(config, ws.name, ws.key_id)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[str]:
    """A server answering every batch with `handler` (the failures a real region may show)."""
    app = web.Application()
    app.router.add_post("/v1/batches", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=status, body=body, headers=headers)

    return handle


@pytest.mark.parametrize(
    ("handler", "error", "retry_after"),
    [
        (answer(413, b'{"error":"too_large"}'), BatchTooLarge, None),
        (answer(429, headers={"Retry-After": "7"}), TransientError, 7.0),
        (answer(503, headers={"Retry-After": "1.5"}), TransientError, 1.5),
        (answer(503), TransientError, None),
        (answer(500), TransientError, None),
        (answer(502, b"<html>"), TransientError, None),
        (answer(400, b'{"error":"unsupported_version"}'), SinkUnavailable, None),
        (answer(200, b"not receipts"), TransientError, None),
    ],
)
async def test_answers_map_to_sink_errors(
    handler: Handler, error: type[TransientError], retry_after: float | None
) -> None:
    ws = Workstation("ws-1")
    async with scripted(handler) as url, sink_for(ws, url) as sink:
        with pytest.raises(error) as caught:
            await sink.send(ws.records(2))
    assert type(caught.value) is error
    assert caught.value.retry_after == retry_after
    if isinstance(caught.value, SinkUnavailable):
        assert "bad request" in str(caught.value)


async def test_receipts_for_other_records_are_ignored() -> None:
    ws = Workstation("ws-1")
    a, b = ws.records(2)
    body = msgspec.json.encode(
        {
            "receipts": [
                {"id": a.id, "seq": 1, "status": "stored"},
                {"id": "x", "seq": 2, "status": "stored"},
            ]
        }
    )
    async with scripted(answer(200, body)) as url, sink_for(ws, url) as sink:
        assert outcomes(await sink.send([a, b])) == [(1, "delivered", "")]


async def test_timeouts_and_refused_connections_are_transient(unused_tcp_port: int) -> None:
    ws = Workstation("ws-1")
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    async with scripted(hang) as url, sink_for(ws, url, timeout=0.2) as sink:
        with pytest.raises(TransientError, match="timed out"):
            await sink.send(ws.records(1))
    async with sink_for(ws, f"http://127.0.0.1:{unused_tcp_port}") as sink:
        with pytest.raises(SinkUnavailable, match="cannot connect"):
            await sink.send(ws.records(1))


async def test_unopened_sink_is_unavailable() -> None:
    ws = Workstation("ws-1")
    sink = HttpSink(SinkConfig(name="r", kind="http", target="http://127.0.0.1:1"), "ws-1", "k")
    with pytest.raises(SinkUnavailable):
        await sink.send(ws.records(1))
    await sink.close()


def test_retry_after_parsing() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 2.5 ", now) == 2.5
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after("nan", now) is None
    assert parse_retry_after("99999999", now) == 24 * 3600.0
    when = dt.datetime.fromtimestamp(now + 90, dt.UTC)
    assert parse_retry_after(format_datetime(when, usegmt=True), now) == 90.0
    past = dt.datetime.fromtimestamp(now - 90, dt.UTC)
    assert parse_retry_after(format_datetime(past, usegmt=True), now) == 0.0
    assert parse_retry_after("Wed, 99 Foo 2030 ::", now) is None
