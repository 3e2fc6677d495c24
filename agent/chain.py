"""Sealing records into the signed chain (`edge.wire` defines it) with the workstation key.

The key is an Ed25519 private key in the data dir (`workstation.key`, 0600), created on first
use together with its public half (`workstation.pub`), which the regional server trusts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.store.files import write_private
from edge.wire import GENESIS, chain_hash, key_id

KEY_FILE = "workstation.key"
PUBLIC_FILE = "workstation.pub"


class ChainError(Exception):
    """The workstation key cannot be read."""


@dataclass(frozen=True, slots=True)
class Seal:
    """The chain fields of one record."""

    seq: int
    prev: bytes  # 32 bytes
    hash: bytes  # 32 bytes
    sig: bytes  # 64 bytes


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
    write_private(path, pem)
