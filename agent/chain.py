"""The signed record chain: each record's hash commits to its predecessor's, and is signed.

    hash(n) = SHA-256( "midas-edge/chain/1" 0x00 workstation 0x00 seq(8 bytes, big-endian)
                       prev_hash(32 bytes) SHA-256(body) )
    sig(n)  = Ed25519(workstation key, hash(n))

`body` is the record's exact JSON bytes as stored. The first record a key seals has a prev of
32 zero bytes (a chain start: a new workstation, a new key, or a store that was quarantined).
A receiver recomputes every hash; since each hash commits to all before it, one valid signature
on the last record of a contiguous run proves the origin of the whole run, so batches are
verified with one signature check each, and record by record only when that fails.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DOMAIN = b"midas-edge/chain/1\x00"
GENESIS = bytes(32)
KEY_FILE = "workstation.key"
PUBLIC_FILE = "workstation.pub"


class ChainError(Exception):
    """A key cannot be read, or a chain does not verify."""


@dataclass(frozen=True, slots=True)
class Seal:
    """The chain fields of one record."""

    seq: int
    prev: bytes  # 32 bytes
    hash: bytes  # 32 bytes
    sig: bytes  # 64 bytes


def chain_hash(workstation: str, seq: int, prev: bytes, body: bytes) -> bytes:
    """The hash of record `seq` whose predecessor's hash is `prev`."""
    digest = hashlib.sha256(DOMAIN)
    digest.update(workstation.encode("utf-8") + b"\x00")
    digest.update(seq.to_bytes(8, "big"))
    digest.update(prev)
    digest.update(hashlib.sha256(body).digest())
    return digest.digest()


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of its SHA-256."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Sealer:
    """Seals records in sequence order with the workstation key; remembers the last hash."""

    def __init__(self, workstation: str, key: Ed25519PrivateKey, last: bytes = GENESIS) -> None:
        self.workstation = workstation
        self._key = key
        self.public = key.public_key()
        self.key_id = key_id(self.public)
        self.last = last

    def seal(self, seq: int, body: bytes) -> Seal:
        digest = chain_hash(self.workstation, seq, self.last, body)
        seal = Seal(seq, self.last, digest, self._key.sign(digest))
        self.last = digest
        return seal


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    """The workstation key in `data_dir` (0600), created on first use with its public half."""
    path = data_dir / KEY_FILE
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        key = Ed25519PrivateKey.generate()
        _write_private(path, key)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (data_dir / PUBLIC_FILE).write_bytes(public)
        return key
    try:
        loaded = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise ChainError(f"{path.name} is not a PEM private key") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ChainError(f"{path.name} is not an Ed25519 key")
    return loaded


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise ChainError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ChainError("not an Ed25519 public key")
    return key


@dataclass(frozen=True, slots=True)
class Link:
    """One record as a receiver checks it."""

    seq: int
    body: bytes
    prev: bytes
    hash: bytes
    sig: bytes


def verify_run(workstation: str, public: Ed25519PublicKey, links: Sequence[Link]) -> list[str]:
    """Check records of one workstation (sorted by seq); a reason per record, "" when good.

    Hashes are recomputed for every record and linked where sequence numbers are consecutive;
    the signature is checked once on the last record of each linked run, and on every record of
    a run whose last signature fails (to name the bad ones).
    """
    reasons = [
        "" if chain_hash(workstation, ln.seq, ln.prev, ln.body) == ln.hash else "hash_mismatch"
        for ln in links
    ]
    for i in range(1, len(links)):
        a, b = links[i - 1], links[i]
        if b.seq == a.seq + 1 and b.prev != a.hash and not reasons[i]:
            reasons[i] = "chain_broken"
    start = 0
    for end in range(len(links)):
        last_of_run = (
            end + 1 == len(links)
            or links[end + 1].seq != links[end].seq + 1
            or reasons[end + 1] != ""
            or reasons[end] != ""
        )
        if not last_of_run:
            continue
        run = range(start, end + 1)
        if not _signed(public, links[end]):
            for i in run:
                if not reasons[i] and not _signed(public, links[i]):
                    reasons[i] = "bad_signature"
        start = end + 1
    return reasons


def _signed(public: Ed25519PublicKey, link: Link) -> bool:
    try:
        public.verify(link.sig, link.hash)
    except InvalidSignature:
        return False
    return True
