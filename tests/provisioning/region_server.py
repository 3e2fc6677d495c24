"""A region (CA, tokens, trust) with the reference receiver on loopback, and its TLS clients."""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning.enroll import enroll
from provisioning.identity import csr_for
from receiver.app import serve
from receiver.checks import Trust
from receiver.region import Region, init_region
from receiver.region_cli import region_tls
from receiver.sqlite_store import SqliteStorage
from receiver.tokens import TokenStore


@dataclass
class RegionServer:
    region: Region
    url: str
    storage: SqliteStorage
    tmp: Path

    def token(self, workstation: str = "ws-1", valid_s: float = 3600.0) -> str:
        return TokenStore(self.region.tokens_path).issue(workstation, time.time(), valid_s)

    def client(
        self, cert: bytes | None = None, key: ec.EllipticCurvePrivateKey | None = None
    ) -> ssl.SSLContext:
        """TLS pinned to the region CA, with a client certificate when given one."""
        context = ssl.create_default_context(cadata=self.region.ca_pem.decode())
        if cert is not None and key is not None:
            folder = self.tmp / f"client-{len(list(self.tmp.glob('client-*')))}"
            folder.mkdir()
            (folder / "c.pem").write_bytes(cert)
            (folder / "k.pem").write_bytes(private_pem(key))
            context.load_cert_chain(folder / "c.pem", folder / "k.pem")
        return context

    async def enrolled(
        self, workstation: str, chain: Ed25519PrivateKey
    ) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
        """Enroll `workstation` with its chain key; its client certificate and TLS key."""
        tls = ec.generate_private_key(ec.SECP256R1())
        done = await enroll(
            self.url,
            self.region.ca_pem,
            self.token(workstation),
            csr_for(tls, workstation),
            public_pem(chain),
        )
        return done.certificate, tls


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@contextlib.asynccontextmanager
async def region_server(tmp_path: Path) -> AsyncIterator[RegionServer]:
    reg, _ = init_region(tmp_path / "region", ["127.0.0.1"])
    storage = SqliteStorage(tmp_path / "r.db")
    await storage.open()
    try:
        async with serve(
            storage, Trust(reg.trust_dir), ssl_context=region_tls(reg), region=reg
        ) as where:
            yield RegionServer(reg, f"https://127.0.0.1:{where.port}", storage, tmp_path)
    finally:
        await storage.close()
