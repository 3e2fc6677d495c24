"""Enrollment reads whole bodies, however many pieces they arrive in, and only up to a limit.

TCP and TLS deliver a body in as many pieces as they like: a request or answer split in two
(here with a pause between the pieces, as a slow link makes it) is read whole on both sides.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning.enroll import fetch_ca
from provisioning.identity import csr_for
from receiver.enroll import MAX_ENROLL_BYTES
from receiver.region import init_region
from receiver.region_cli import region_tls
from tests.provisioning.region_server import RegionServer, public_pem, region_server

# A pause long enough that the first piece is read on its own before the second is sent.
PAUSE_S = 0.2


@pytest.fixture
async def region(tmp_path: Path) -> AsyncIterator[RegionServer]:
    async with region_server(tmp_path) as server:
        yield server


async def in_two(body: bytes, cut: int) -> AsyncIterator[bytes]:
    yield body[:cut]
    await asyncio.sleep(PAUSE_S)
    yield body[cut:]


def enrollment(r: RegionServer) -> bytes:
    csr = csr_for(ec.generate_private_key(ec.SECP256R1()), "ws-1").decode()
    key = public_pem(Ed25519PrivateKey.generate()).decode()
    return json.dumps({"token": r.token(), "csr": csr, "public_key": key}).encode()


async def test_an_enrollment_sent_in_two_pieces_is_read_whole(region: RegionServer) -> None:
    body = enrollment(region)
    headers = {"Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{region.url}/v1/enroll",
            data=in_two(body, 300),
            headers=headers,
            ssl=region.client(),
        ) as resp,
    ):
        answer = await resp.json()
    assert resp.status == 200, answer
    assert answer["workstation"] == "ws-1"


async def test_an_enrollment_above_the_limit_is_refused_in_pieces_or_whole(
    region: RegionServer,
) -> None:
    big = b"{" + b" " * MAX_ENROLL_BYTES + b"}"
    async with aiohttp.ClientSession() as http:
        for data in (in_two(big, 1000), big):
            async with http.post(f"{region.url}/v1/enroll", data=data, ssl=region.client()) as resp:
                assert (resp.status, await resp.json()) == (413, {"error": "too_large"})


async def test_the_ca_answered_in_two_pieces_is_read_whole(tmp_path: Path) -> None:
    reg, _ = init_region(tmp_path / "region", ["127.0.0.1"])
    pem = reg.ca_pem

    async def slow_ca(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-pem-file"})
        await response.prepare(request)
        await response.write(pem[:100])
        await asyncio.sleep(PAUSE_S)
        await response.write(pem[100:])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/v1/enroll/ca", slow_ca)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=region_tls(reg))
        await site.start()
        port = runner.addresses[0][1]
        assert await fetch_ca(f"https://127.0.0.1:{port}/", reg.fingerprint) == pem
    finally:
        await runner.cleanup()
