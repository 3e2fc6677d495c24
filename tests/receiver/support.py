"""Receiver test support: workstations that seal records (and are re-keyed), storages of both
kinds, a connection of its own to a PostgreSQL schema, batches sent and the listing of every
record read until what a test wrote is listed, a test CA."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import ipaddress
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from agent.chain import Sealer
from agent.sink import Outgoing
from edge.wire import FORMAT, VERSION, Batch, WireRecord, batch_encoder, receipts_decoder
from receiver.storage import Storage

if TYPE_CHECKING:
    import psycopg

PG_DSN = os.environ.get("MIDAS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]
GZIP_JSON = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
# How long a test waits for rows to become listable: a transaction of anyone else on the same
# PostgreSQL server that began before theirs holds them back until it ends.
VISIBLE_S = 60.0


def postgres_dsn() -> str:
    """The test database, or a skip (a failure when MIDAS_REQUIRE_POSTGRES=1) if unreachable."""
    import psycopg

    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        why = f"PostgreSQL unreachable at {PG_DSN} ({type(exc).__name__})"
        if os.environ.get("MIDAS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{why} and MIDAS_REQUIRE_POSTGRES=1")
        pytest.skip(f"{why}; set MIDAS_TEST_POSTGRES_DSN, or MIDAS_REQUIRE_POSTGRES=1 to fail")
    return PG_DSN


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.asynccontextmanager
async def connection(schema: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection of its own to the receivers' schema (another writer, a lock holder)."""
    import psycopg
    from psycopg import sql

    conn = await psycopg.AsyncConnection.connect(postgres_dsn(), connect_timeout=3)
    try:
        await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        await conn.commit()
        yield conn
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def storage_of(
    kind: str, tmp_path: Path, schema: str | None = None
) -> AsyncIterator[Storage]:
    """An opened storage of `kind`; PostgreSQL in `schema` (a fresh one, dropped after, if None)."""
    if kind == "sqlite":
        from receiver.sqlite_store import SqliteStorage

        store: Storage = SqliteStorage(tmp_path / "receiver.db")
        await store.open()
        try:
            yield store
        finally:
            await store.close()
        return
    from receiver.pg_store import PostgresStorage

    dsn = postgres_dsn()
    own = schema is None
    name = schema or f"midas_test_{uuid.uuid4().hex[:12]}"
    pg = PostgresStorage(dsn, schema=name, max_size=4)
    try:
        await pg.open()
        yield pg
    finally:
        await pg.close()
        if own:
            drop_schema(dsn, name)


async def page(
    http: aiohttp.ClientSession, url: str, after: str | None, limit: int = 100
) -> tuple[list[dict[str, Any]], str]:
    """One page of the listing of every record: its records and `next`."""
    params = {"limit": str(limit)} | ({} if after is None else {"after": after})
    async with http.get(f"{url}/v1/records", params=params) as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    return body["records"], body["next"]


async def drain(
    http: aiohttp.ClientSession, url: str, after: str | None, count: int, limit: int = 100
) -> tuple[list[str], str]:
    """Page on from `after` until `count` records were listed: their ids and the last cursor.

    On PostgreSQL a record is listed once every transaction of the server older than its own
    ended, so a test lists what it just wrote through this, never with one page."""
    ids: list[str] = []
    async with asyncio.timeout(VISIBLE_S):
        while len(ids) < count:
            records, nxt = await page(http, url, after, limit)
            ids += [r["id"] for r in records]
            after = nxt
            if not records:
                await asyncio.sleep(0.05)
    assert after is not None
    return ids, after


def body_of(n: int, size: int = 200) -> bytes:
    return json.dumps({"n": n, "payload": "x" * size}, separators=(",", ":")).encode()


@dataclass
class Workstation:
    """A workstation's key and chain; `records()` seals the next ones."""

    name: str = "ws-1"
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    next_seq: int = 1
    sealer: Sealer = field(init=False)

    def __post_init__(self) -> None:
        self.sealer = Sealer(self.name, self.key)

    @property
    def key_id(self) -> str:
        return self.sealer.key_id

    def trust(self, directory: Path) -> Path:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        path = directory / f"{self.name}.pem"
        path.write_bytes(pem)
        return path

    def records(self, count: int, size: int = 200) -> list[Outgoing]:
        return [self.record(body_of(self.next_seq, size)) for _ in range(count)]

    def record(self, body: bytes) -> Outgoing:
        """The next record, sealed with this exact body."""
        seq = self.next_seq
        self.next_seq += 1
        seal = self.sealer.seal(seq, body)
        return Outgoing(seq, str(uuid.uuid4()), body, seal.prev, seal.hash, seal.sig)

    def batch(self, records: list[Outgoing], key_id: str | None = None) -> Batch:
        wire = [
            WireRecord(r.seq, r.id, r.body.decode(), r.prev.hex(), r.hash.hex(), r.sig.hex())
            for r in records
        ]
        return Batch(FORMAT, VERSION, self.name, key_id or self.key_id, wire)


def gz(batch: Batch) -> bytes:
    return gzip.compress(batch_encoder.encode(batch))


@dataclass(frozen=True)
class Pki:
    """A test CA with a server certificate (127.0.0.1, localhost) and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_pki(directory: Path, prefix: str = "") -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _issue(f"{prefix}test CA", ca_key, None, ca=True)
    issuer = (ca_cert.subject, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    server = _issue("receiver", server_key, issuer, sans=sans)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _issue("ws-1", client_key, issuer)
    return Pki(
        ca=_pem(directory / f"{prefix}ca.pem", ca_cert),
        server_cert=_pem(directory / f"{prefix}server.pem", server),
        server_key=_write_key(directory / f"{prefix}server.key", server_key),
        client_cert=_pem(directory / f"{prefix}client.pem", client),
        client_key=_write_key(directory / f"{prefix}client.key", client_key),
    )


def rekeyed(station: Workstation) -> Workstation:
    """The same workstation with a new key: its next record starts a new chain."""
    new = Workstation(station.name)
    new.next_seq = station.next_seq
    return new


async def send(
    http: aiohttp.ClientSession, url: str, station: Workstation, records: list[Outgoing]
) -> list[tuple[str, str]]:
    """Post `records` as one batch of `station`: each receipt's status and reason."""
    data = gz(station.batch(records))
    async with http.post(f"{url}/v1/batches", data=data, headers=GZIP_JSON) as resp:
        raw = await resp.read()
        assert resp.status == 200, raw
    return [(r.status.value, r.reason) for r in receipts_decoder.decode(raw).receipts]


async def chain(http: aiohttp.ClientSession, url: str, workstation: str) -> dict[str, Any]:
    """The chain status of `workstation`, as JSON."""
    async with http.get(f"{url}/v1/workstations/{workstation}/chain") as resp:
        assert resp.status == 200
        status: dict[str, Any] = await resp.json()
    return status
