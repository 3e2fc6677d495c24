"""The signed alert-list file: layout, signing (headquarters) and verification (workstations).

    magic    8 bytes   b"MIDASAL1"
    length   4 bytes   big-endian length of the header
    header   JSON      `Header` (version, issue and expiry times, key id, HMAC key, counts,
                       SHA-256 of the body)
    body               digests (entries x 16 bytes, ascending) | categories (entries x 1 byte:
                       1 lost_stolen, 2 person_of_interest) | references (entries ASCII lines,
                       each ending in "\\n", in digest order)
    sig      64 bytes  Ed25519 over b"midas-edge/alert-list/1\\0" + magic + length + header

The header commits to the body by its SHA-256, so one signature check and one hash cover the
whole file. Nothing in it is an identifier in clear: digests are keyed hashes
(`edge.alerts.normalize`) and references are opaque to everyone but headquarters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.alerts.errors import ListRefused
from edge.alerts.normalize import DIGEST_BYTES
from edge.wire import key_id

MAGIC = b"MIDASAL1"
DOMAIN = b"midas-edge/alert-list/1\x00"
FORMAT = "midas-edge/alert-list"
SIG_BYTES = 64
HMAC_KEY_BYTES = 32
MAX_HEADER_BYTES = 64 * 1024
# The largest list accepted: about 9 million entries with short references.
MAX_LIST_BYTES = 256 * 1024 * 1024
REF = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
_PREFIX = len(MAGIC) + 4


class Category(IntEnum):
    """Why an entry is on the list (its byte in the file)."""

    LOST_STOLEN = 1
    PERSON_OF_INTEREST = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Header(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the signature covers besides the body's digest."""

    format: str
    version: int
    issued_at: str  # ISO 8601 UTC, "Z"
    expires_at: str
    key_id: str  # the region key's id (`edge.wire.key_id`)
    hmac_key: str  # hex, 32 bytes: the per-list key of every digest
    entries: int
    digest_bytes: int
    body_bytes: int
    body_sha256: str
    region: str = ""


_header_encoder = msgspec.json.Encoder()
_header_decoder = msgspec.json.Decoder(Header)


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry as headquarters builds it: a digest, its category, an opaque reference."""

    digest: bytes
    category: Category
    ref: str


@dataclass(frozen=True, slots=True)
class ListFile:
    """A verified list: its header, times, and the three parts of its body (views of `data`)."""

    header: Header
    issued: datetime
    expires: datetime
    hmac_key: bytes
    sha256: str  # of the whole file: its identity (ETag, same-version comparison)
    digests: memoryview
    categories: memoryview
    refs: memoryview
    size: int


def utc_iso(moment: datetime) -> str:
    """ISO 8601 UTC to the second with a Z suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text (a naive time is taken as UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def build(
    entries: Sequence[Entry],
    *,
    version: int,
    issued: datetime,
    expires: datetime,
    hmac_key: bytes,
    private_key: Ed25519PrivateKey,
    region: str = "",
) -> bytes:
    """The signed file of `entries` (any order; sorted here)."""
    ordered = sorted(entries, key=lambda e: e.digest)
    for entry in ordered:
        if len(entry.digest) != DIGEST_BYTES or not REF.match(entry.ref):
            raise ValueError("an entry has a bad digest or reference")
    body = b"".join(
        (
            b"".join(e.digest for e in ordered),
            bytes(int(e.category) for e in ordered),
            "".join(e.ref + "\n" for e in ordered).encode("ascii"),
        )
    )
    return assemble(
        body,
        len(ordered),
        version=version,
        issued=issued,
        expires=expires,
        hmac_key=hmac_key,
        private_key=private_key,
        region=region,
    )


def assemble(
    body: bytes,
    entries: int,
    *,
    version: int,
    issued: datetime,
    expires: datetime,
    hmac_key: bytes,
    private_key: Ed25519PrivateKey,
    region: str = "",
) -> bytes:
    """The signed file around a body already laid out (digests sorted, categories, refs)."""
    if version < 1:
        raise ValueError("the version is a positive integer")
    if expires <= issued:
        raise ValueError("the expiry must come after the issue time")
    if len(hmac_key) != HMAC_KEY_BYTES:
        raise ValueError("the HMAC key is 32 bytes")
    header = Header(
        format=FORMAT,
        version=version,
        issued_at=utc_iso(issued),
        expires_at=utc_iso(expires),
        key_id=key_id(private_key.public_key()),
        hmac_key=hmac_key.hex(),
        entries=entries,
        digest_bytes=DIGEST_BYTES,
        body_bytes=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        region=region,
    )
    encoded = _header_encoder.encode(header)
    signed = MAGIC + len(encoded).to_bytes(4, "big") + encoded
    return signed + body + private_key.sign(DOMAIN + signed)


def peek(data: bytes) -> Header:
    """The header of a list file, NOT verified (for messages); ListRefused when unreadable."""
    return _header(data)[0]


def _header(data: bytes) -> tuple[Header, int]:
    """The header and where it ends, whatever follows it."""
    if len(data) > MAX_LIST_BYTES:
        raise ListRefused("too_large", f"the file has {len(data)} bytes, more than a list may")
    if data[: len(MAGIC)] != MAGIC[: len(data)] or not data:
        raise ListRefused("malformed", "not an alert list file")
    if len(data) < _PREFIX:
        raise ListRefused("truncated", f"the file ends after {len(data)} bytes")
    length = int.from_bytes(data[len(MAGIC) : _PREFIX], "big")
    if length > MAX_HEADER_BYTES:
        raise ListRefused("malformed", "the header length is out of range")
    end = _PREFIX + length
    if len(data) < end:
        raise ListRefused("truncated", f"the file ends after {len(data)} bytes, in its header")
    try:
        header = _header_decoder.decode(data[_PREFIX:end])
    except msgspec.DecodeError as exc:
        raise ListRefused("malformed", "the header is not a list header") from exc
    if header.format != FORMAT or header.body_bytes < 0:
        raise ListRefused("malformed", "the header is not a list header")
    return header, end


def _split(data: bytes) -> tuple[Header, int]:
    """The header and where it ends; truncated or malformed files are refused."""
    header, end = _header(data)
    expected = end + header.body_bytes + SIG_BYTES
    if len(data) < expected:
        raise ListRefused("truncated", f"the file has {len(data)} of {expected} bytes")
    if len(data) > expected:
        raise ListRefused("malformed", f"{len(data) - expected} bytes follow the signature")
    return header, end


def verify(data: bytes, public_key: Ed25519PublicKey) -> ListFile:
    """The list in `data` if `public_key` signed it and it is well formed; else ListRefused."""
    header, end = _split(data)
    ours = key_id(public_key)
    if header.key_id != ours:
        raise ListRefused(
            "wrong_key", f"signed by key {header.key_id}; this workstation trusts {ours}"
        )
    signature = data[len(data) - SIG_BYTES :]
    try:
        public_key.verify(signature, DOMAIN + data[:end])
    except InvalidSignature:
        raise ListRefused("bad_signature", "the signature does not verify") from None
    view = memoryview(data)
    body = view[end : len(data) - SIG_BYTES]
    if hashlib.sha256(body).hexdigest() != header.body_sha256:
        raise ListRefused("bad_signature", "the entries are not the ones the header signed")
    issued, expires, hmac_key = _semantics(header)
    count = header.entries
    digests_end = count * DIGEST_BYTES
    if digests_end + count > len(body):
        raise ListRefused("malformed", "the body is shorter than the entries the header counts")
    categories = body[digests_end : digests_end + count]
    refs = body[digests_end + count :]
    return ListFile(
        header=header,
        issued=issued,
        expires=expires,
        hmac_key=hmac_key,
        sha256=hashlib.sha256(data).hexdigest(),
        digests=body[:digests_end],
        categories=categories,
        refs=refs,
        size=len(data),
    )


def _semantics(header: Header) -> tuple[datetime, datetime, bytes]:
    if header.version < 1 or header.entries < 0 or header.digest_bytes != DIGEST_BYTES:
        raise ListRefused("malformed", "the header's version, count or digest size is invalid")
    try:
        issued, expires = parse_time(header.issued_at), parse_time(header.expires_at)
        hmac_key = bytes.fromhex(header.hmac_key)
    except ValueError:
        raise ListRefused("malformed", "the header's times or key are invalid") from None
    if len(hmac_key) != HMAC_KEY_BYTES:
        raise ListRefused("malformed", "the header's HMAC key is not 32 bytes")
    if expires <= issued:
        raise ListRefused("expired_at_issue", "the list expires before it was issued")
    return issued, expires, hmac_key
