"""Who reads what on a receiver serving a region: workstations send, operators read.

An enrolled workstation's certificate posts its own batches, puts blobs, fetches the alert
list and its own chain status, and nothing else: the records, blobs and chain of another
workstation need an operator's certificate (`receiver operator-cert`), which in turn sends
nothing.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge.wire import batch_encoder
from tests.provisioning.region_server import RegionServer, region_server
from tests.receiver.support import Workstation

HEADERS = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
CLI_TIMEOUT_S = 60.0


@pytest.fixture
async def region(tmp_path: Path) -> AsyncIterator[RegionServer]:
    async with region_server(tmp_path) as server:
        yield server


async def _status(
    http: aiohttp.ClientSession, method: str, url: str, context: ssl.SSLContext, **kw: object
) -> tuple[int, object]:
    async with http.request(method, url, ssl=context, **kw) as resp:  # type: ignore[arg-type]  # aiohttp's keyword arguments
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.read()


async def operator_cli(region_dir: Path, out: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge",
        "receiver",
        "operator-cert",
        "--region",
        str(region_dir),
        "--name",
        "central-archive",
        "--out",
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    text, _ = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_S)
    assert proc.returncode is not None
    return proc.returncode, text.decode()


async def test_a_workstation_sends_its_own_and_reads_nothing_of_the_others(
    region: RegionServer, tmp_path: Path
) -> None:
    ws1, ws2 = Workstation("ws-1"), Workstation("ws-2")
    as_ws1 = region.client(*await region.enrolled("ws-1", ws1.key))
    as_ws2 = region.client(*await region.enrolled("ws-2", ws2.key))
    image = b"\xff\xd8 an image of ws-1"
    digest = hashlib.sha256(image).hexdigest()
    batch = gzip.compress(batch_encoder.encode(ws1.batch(ws1.records(2))))
    url = region.url
    async with aiohttp.ClientSession() as http:
        status, _ = await _status(http, "PUT", f"{url}/v1/blobs/{digest}", as_ws1, data=image)
        assert status == 201
        assert (await _status(http, "HEAD", f"{url}/v1/blobs/{digest}", as_ws1))[0] == 200
        status, receipts = await _status(
            http, "POST", f"{url}/v1/batches", as_ws1, data=batch, headers=HEADERS
        )
        assert status == 200, receipts
        assert (await _status(http, "GET", f"{url}/v1/workstations/ws-1/chain", as_ws1))[0] == 200
        status, body = await _status(http, "GET", f"{url}/v1/alert-lists/latest", as_ws1)
        assert (status, body) == (404, {"error": "not_found"})  # allowed; none published
        record = (await region.storage.records("ws-1", 0, 1)).records[0]
        for path in (
            "/v1/records",
            "/v1/records?workstation=ws-1",
            f"/v1/records/{record.id}",
            f"/v1/blobs/{digest}",
            "/v1/workstations",
            "/v1/workstations/ws-1/chain",
        ):
            status, body = await _status(http, "GET", url + path, as_ws2)
            assert (status, body) == (403, {"error": "operator_certificate_required"}), path
        status, body = await _status(
            http, "POST", f"{url}/v1/batches", as_ws2, data=batch, headers=HEADERS
        )
        assert (status, body) == (403, {"error": "certificate_mismatch"})
        status, body = await _status(http, "GET", f"{url}/v1/records", region.client())
        assert (status, body) == (403, {"error": "client_certificate_required"})

        code, out = await operator_cli(region.region.directory, tmp_path / "operator")
        assert code == 0, out
        cert_pem = (tmp_path / "operator/central-archive.crt").read_bytes()
        key = serialization.load_pem_private_key(
            (tmp_path / "operator/central-archive.key").read_bytes(), password=None
        )
        cert = x509.load_pem_x509_certificate(cert_pem)
        cert.verify_directly_issued_by(region.region.ca_cert)
        assert (tmp_path / "operator/central-archive.key").stat().st_mode & 0o777 == 0o600
        as_operator = region.client(cert_pem, key)  # type: ignore[arg-type]  # an EC key
        status, page = await _status(http, "GET", f"{url}/v1/records?workstation=ws-1", as_operator)
        assert status == 200 and isinstance(page, dict)
        assert [r["seq"] for r in page["records"]] == [1, 2]
        assert (await _status(http, "GET", f"{url}/v1/blobs/{digest}", as_operator))[0] == 200
        status, body = await _status(
            http, "POST", f"{url}/v1/batches", as_operator, data=batch, headers=HEADERS
        )
        assert (status, body) == (403, {"error": "workstation_certificate_required"})
