"""The region's side of enrollment: tokens, POST /v1/enroll, mutual TLS bound to the workstation.

A token enrolls once (its reuse is a typed 403), expires, and only for the workstation it was
issued for; a bad CSR or key leaves it usable. The enrolled key becomes the one the receiver
verifies that workstation's batches with (the one it replaces stays trusted as retired); with a
region, routes need a region certificate and a batch must come from the workstation its
certificate names.
"""

from __future__ import annotations

import gzip
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.wire import batch_encoder
from provisioning.enroll import EnrollError, enroll, fetch_ca
from provisioning.identity import csr_for
from receiver.app import serve
from receiver.checks import Trust
from receiver.region import Region, init_region
from receiver.region_cli import region_tls
from receiver.sqlite_store import SqliteStorage
from receiver.tokens import TokenError, TokenStore
from tests.helpers import midas_cli
from tests.receiver.support import Workstation

CLI_TIMEOUT_S = 60.0


@dataclass
class RegionServer:
    region: Region
    url: str
    storage: SqliteStorage

    def token(self, workstation: str = "ws-1", valid_s: float = 3600.0) -> str:
        return TokenStore(self.region.tokens_path).issue(workstation, time.time(), valid_s)


@pytest.fixture
async def region(tmp_path: Path) -> AsyncIterator[RegionServer]:
    reg, created = init_region(tmp_path / "region", ["127.0.0.1"])
    assert created
    storage = SqliteStorage(tmp_path / "r.db")
    await storage.open()
    try:
        async with serve(
            storage, Trust(reg.trust_dir), ssl_context=region_tls(reg), region=reg
        ) as where:
            yield RegionServer(reg, f"https://127.0.0.1:{where.port}", storage)
    finally:
        await storage.close()


def _public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def _enroll(r: RegionServer, token: str, workstation: str, key: Ed25519PrivateKey) -> Any:
    tls = ec.generate_private_key(ec.SECP256R1())
    return await enroll(r.url, r.region.ca_pem, token, csr_for(tls, workstation), _public_pem(key))


async def test_a_token_enrolls_once_and_registers_the_chain_key(region: RegionServer) -> None:
    ca = await fetch_ca(region.url, region.region.fingerprint)
    assert ca == region.region.ca_pem
    station = Workstation("ws-1")
    token = region.token()
    done = await _enroll(region, token, "ws-1", station.key)
    cert = x509.load_pem_x509_certificate(done.certificate)
    cert.verify_directly_issued_by(region.region.ca_cert)
    assert cert.subject.rfc4514_string() == "CN=ws-1"
    assert done.key_id == station.key_id
    assert (region.region.trust_dir / "ws-1.pem").read_bytes() == _public_pem(station.key)
    with pytest.raises(EnrollError) as again:
        await _enroll(region, token, "ws-1", station.key)
    assert again.value.reason == "token_used"
    assert "403" in str(again.value)


async def test_a_new_chain_key_keeps_the_one_it_replaces_as_retired(
    region: RegionServer,
) -> None:
    old, new = Workstation("ws-1"), Workstation("ws-1")
    await _enroll(region, region.token(), "ws-1", old.key)
    done = await _enroll(region, region.token(), "ws-1", new.key)
    assert done.key_id == new.key_id
    trust = region.region.trust_dir
    assert (trust / "ws-1.pem").read_bytes() == _public_pem(new.key)
    # What the workstation sealed with its old key is still verified with it.
    assert (trust / "retired" / f"ws-1.{old.key_id}.pem").read_bytes() == _public_pem(old.key)
    await _enroll(region, region.token(), "ws-1", new.key)  # a renewal: the same key
    assert [p.name for p in (trust / "retired").iterdir()] == [f"ws-1.{old.key_id}.pem"]


async def test_tokens_expire_name_their_workstation_and_survive_bad_requests(
    region: RegionServer,
) -> None:
    key = Ed25519PrivateKey.generate()
    # Issued two hours ago for one hour: expired an hour ago by the receiver's own clock.
    expired = TokenStore(region.region.tokens_path).issue("ws-1", time.time() - 7200, 3600)
    with pytest.raises(EnrollError) as late:
        await _enroll(region, expired, "ws-1", key)
    assert late.value.reason == "token_expired"
    with pytest.raises(EnrollError) as forged:
        await _enroll(region, region.token().split(".")[0] + ".guessed", "ws-1", key)
    assert forged.value.reason == "invalid_token"
    token = region.token("ws-2")
    with pytest.raises(EnrollError) as other:
        await _enroll(region, token, "ws-1", key)
    assert other.value.reason == "workstation_mismatch"
    context = ssl.create_default_context(cadata=region.region.ca_pem.decode())
    async with aiohttp.ClientSession() as http:
        body = {"token": token, "csr": "not a csr", "public_key": _public_pem(key).decode()}
        async with http.post(f"{region.url}/v1/enroll", json=body, ssl=context) as resp:
            assert (resp.status, await resp.json()) == (400, {"error": "bad_csr"})
    done = await _enroll(region, token, "ws-2", key)  # still usable after the refusals
    assert done.key_id
    assert not (region.region.trust_dir / "ws-1.pem").exists()


async def test_a_wrong_fingerprint_is_never_trusted(region: RegionServer) -> None:
    with pytest.raises(EnrollError) as wrong:
        await fetch_ca(region.url, "sha256:" + "0" * 64)
    assert wrong.value.reason == "fingerprint_mismatch"


def _client(
    ca: bytes,
    cert: bytes | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
    tmp: Path | None = None,
) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca.decode())
    if cert is not None and key is not None and tmp is not None:
        (tmp / "c.pem").write_bytes(cert)
        (tmp / "k.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    return context


async def test_with_a_region_batches_need_the_certificate_of_their_workstation(
    region: RegionServer, tmp_path: Path
) -> None:
    ws1, ws2 = Workstation("ws-1"), Workstation("ws-2")
    keys = {}
    for station in (ws1, ws2):
        tls = ec.generate_private_key(ec.SECP256R1())
        done = await enroll(
            region.url,
            region.region.ca_pem,
            region.token(station.name),
            csr_for(tls, station.name),
            _public_pem(station.key),
        )
        keys[station.name] = (done.certificate, tls)
    batch = gzip.compress(batch_encoder.encode(ws1.batch(ws1.records(2))))
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    plain = _client(region.region.ca_pem)
    as_ws2 = _client(region.region.ca_pem, *keys["ws-2"], tmp=tmp_path)
    (tmp_path / "one").mkdir()
    as_ws1 = _client(region.region.ca_pem, *keys["ws-1"], tmp=tmp_path / "one")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{region.url}/v1/health", ssl=plain) as resp:
            assert resp.status == 200
        async with http.post(
            f"{region.url}/v1/batches", data=batch, headers=headers, ssl=plain
        ) as resp:
            assert (resp.status, await resp.json()) == (
                403,
                {"error": "client_certificate_required"},
            )
        async with http.post(
            f"{region.url}/v1/batches", data=batch, headers=headers, ssl=as_ws2
        ) as resp:
            assert (resp.status, await resp.json()) == (403, {"error": "certificate_mismatch"})
        async with http.post(
            f"{region.url}/v1/batches", data=batch, headers=headers, ssl=as_ws1
        ) as resp:
            assert resp.status == 200
            receipts = await resp.json()
    assert [r["status"] for r in receipts["receipts"]] == ["stored", "stored"]


def test_redeem_is_atomic_with_the_callers_checks(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "t.db")
    token = store.issue("ws-1", 1000.0, 60.0)

    def refuse(workstation: str) -> None:
        raise ValueError(workstation)

    with pytest.raises(ValueError, match="ws-1"):
        store.redeem(token, 1001.0, refuse)
    with pytest.raises(TokenError, match="token_expired"):
        store.redeem(token, 1060.0, lambda ws: ws)  # issued at 1000 for 60 s: over at 1060
    assert store.redeem(token, 1059.999, lambda ws: ws) == "ws-1"
    with pytest.raises(TokenError, match="token_used"):
        store.redeem(token, 1002.0, lambda ws: ws)
    assert token.split(".")[1].encode() not in (tmp_path / "t.db").read_bytes()


async def _cli(*args: str) -> tuple[int, str, str]:
    return await midas_cli("receiver", *args, timeout=CLI_TIMEOUT_S)


async def test_ca_init_and_enroll_token_commands(tmp_path: Path) -> None:
    region_dir = tmp_path / "region"
    code, out, _ = await _cli("ca", "init", "--region", str(region_dir), "--name", "127.0.0.1")
    assert code == 0 and "created" in out
    fingerprint = Region.load(region_dir).fingerprint
    assert f"ca-fingerprint: {fingerprint}" in out
    code, out, _ = await _cli("ca", "init", "--region", str(region_dir))
    assert code == 0 and "exists" in out and fingerprint in out  # never replaced
    code, out, _ = await _cli("enroll-token", "--region", str(region_dir), "--workstation", "ws-9")
    assert code == 0
    token = out.split("token: ", 1)[1].split()[0]
    assert TokenStore(region_dir / "enroll.db").redeem(token, time.time(), lambda ws: ws) == "ws-9"
    code, _, err = await _cli(
        "enroll-token", "--region", str(tmp_path / "none"), "--workstation", "x"
    )
    assert code == 1 and "ca init" in err
    code, _, err = await _cli("--region", str(region_dir))
    assert code == 2 and "--db is required" in err


async def test_a_trust_dir_that_cannot_be_written_leaves_the_token_usable(
    region: RegionServer,
) -> None:
    station = Workstation("ws-1")
    token = region.token()
    trust = region.region.trust_dir
    aside = trust.with_name("trust-aside")
    trust.rename(aside)
    trust.write_text("not a directory")  # an unwritable trust dir, even for root
    try:
        with pytest.raises(EnrollError) as failed:
            await _enroll(region, token, "ws-1", station.key)
    finally:
        trust.unlink()
        aside.rename(trust)
    assert failed.value.reason == "trust_unavailable"
    assert "503" in str(failed.value)
    done = await _enroll(region, token, "ws-1", station.key)  # the same token, once more
    assert done.key_id == station.key_id
