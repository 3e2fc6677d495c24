"""The wire contract between a workstation and a regional server (version 1).

Batches: `POST /v1/batches` with a gzip-compressed JSON `Batch`; the answer is a `Receipts` with
one receipt per record id, in the batch's order. A resent record (same id) gets the same answer
as the first time ("duplicate" after "stored"); a record that can never be accepted is
"rejected" with a reason code, and the workstation parks it as a dead letter. A record the
receiver cannot take yet (an image its body references is not stored there) gets no receipt:
the workstation sends it again, images first.

The chain:

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

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DOMAIN = b"midas-edge/chain/1\x00"
GENESIS = bytes(32)


class WireError(Exception):
    """A key or a message that does not follow the wire contract."""


FORMAT = "midas-edge/batch"
VERSION = 1
CONTENT_TYPE = "application/json"
# The largest batch a receiver accepts, compressed and uncompressed (bounds its memory).
MAX_BATCH_BYTES = 32 * 1024 * 1024


class WireRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One record and its chain fields. `body` is the record's exact JSON text as stored."""

    seq: int
    id: str
    body: str
    prev: str  # hex, 64 digits
    hash: str  # hex, 64 digits
    sig: str  # hex, 128 digits


class Batch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    format: str
    version: int
    workstation: str
    key_id: str
    records: list[WireRecord]


class Status(StrEnum):
    STORED = "stored"  # new, durable at the receiver
    DUPLICATE = "duplicate"  # already stored earlier (same id and hash)
    REJECTED = "rejected"  # never acceptable: park it, do not retry


class Receipt(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    seq: int
    status: Status
    reason: str = ""  # for rejections: hash_mismatch, bad_signature, chain_broken, ...


class Receipts(msgspec.Struct, frozen=True):
    receipts: list[Receipt]


batch_encoder = msgspec.json.Encoder()
batch_decoder = msgspec.json.Decoder(Batch)
receipts_decoder = msgspec.json.Decoder(Receipts)


def chain_hash(workstation: str, seq: int, prev: bytes, body: bytes) -> bytes:
    """The hash of record `seq` whose predecessor's hash is `prev`."""
    digest = _prefix(workstation).copy()
    digest.update(seq.to_bytes(8, "big") + prev + hashlib.sha256(body).digest())
    return digest.digest()


@functools.lru_cache(maxsize=64)  # bounded: a receiver hears from many workstations
def _prefix(workstation: str) -> hashlib._Hash:
    """SHA-256 already fed the domain and the workstation: copied, never updated in place."""
    return hashlib.sha256(DOMAIN + workstation.encode("utf-8") + b"\x00")


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of its SHA-256."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise WireError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise WireError("not an Ed25519 public key")
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

    Every hash is recomputed. Records that link (consecutive seq, prev = predecessor's hash)
    form runs; the signature is checked once on the last record of each run, and on every
    record of a run whose last signature fails, to name the bad ones. Two good records with
    consecutive numbers that do not link mean the key signed two histories: the later one is
    "chain_broken".
    """
    reasons = [
        "" if chain_hash(workstation, ln.seq, ln.prev, ln.body) == ln.hash else "hash_mismatch"
        for ln in links
    ]
    runs: list[list[int]] = []
    for i, link in enumerate(links):
        if reasons[i]:
            continue
        if runs and runs[-1][-1] == i - 1 and _links(links[i - 1], link):
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        if not _signed(public, links[run[-1]]):
            for i in run:
                if not _signed(public, links[i]):
                    reasons[i] = "bad_signature"
    for i in range(1, len(links)):
        a, b = links[i - 1], links[i]
        if b.seq == a.seq + 1 and not reasons[i - 1] and not reasons[i] and b.prev != a.hash:
            reasons[i] = "chain_broken"
    return reasons


def _links(a: Link, b: Link) -> bool:
    return b.seq == a.seq + 1 and b.prev == a.hash


def _signed(public: Ed25519PublicKey, link: Link) -> bool:
    try:
        public.verify(link.sig, link.hash)
    except InvalidSignature:
        return False
    return True
