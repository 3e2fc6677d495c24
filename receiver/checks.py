"""Turning a request body into checked records: size bounds, gzip, the batch format, trust, chain,
and the images each record's body references.

Everything here is CPU work on one request's bytes; the app runs it in a worker thread.
"""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.wire import (
    FORMAT,
    MAX_BATCH_BYTES,
    VERSION,
    Batch,
    Link,
    WireError,
    batch_decoder,
    key_id,
    load_public_key,
    verify_run,
)
from receiver.storage import BlobRefs, Checked, Newer
from receiver.trust import KEY_ID, current_path, newer_keys, retired_path

log = logging.getLogger("receiver")

WORKSTATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
RECORD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


# How a workstation's encoder ends the body of a record without images (`blobs` is the record's
# last field): such a body references none, and is not parsed.
NO_BLOBS = b',"blobs":[]}'


class _BlobRef(msgspec.Struct, frozen=True):
    """What the receiver reads of an image reference (edge/records.py BlobRef): its content
    address and its size; the other fields are the consumers'."""

    sha256: Annotated[str, msgspec.Meta(pattern=r"\A[0-9a-f]{64}\Z")]
    size: Annotated[int, msgspec.Meta(ge=0)]


class _Body(msgspec.Struct, frozen=True):
    """A record body as far as the receiver reads it: the images it references."""

    blobs: list[_BlobRef] = []


_body_decoder = msgspec.json.Decoder(_Body)


def blob_refs(body: bytes) -> BlobRefs | None:
    """The (sha256, size) of the images a record body references; None when the body is not a
    JSON object or its `blobs` is not a list of references (a 64-hex sha256, a size >= 0)."""
    if body.endswith(NO_BLOBS):
        return ()
    try:
        refs = _body_decoder.decode(body).blobs
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return tuple((ref.sha256, ref.size) for ref in refs)


class Refused(Exception):  # an HTTP answer, not a failure of the receiver
    """The whole request is refused: an HTTP status and a reason code (never record content)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    workstation: str
    key_id: str
    records: list[Checked]
    # For a batch sealed with a retired key, the keys newer than it: only records before the
    # first seq stored under one of them are stored. None: sealed with the current key.
    newer: Newer | None


class Trust:
    """The trusted workstation keys (`receiver.trust` lays the directory out), re-read on change."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # path -> (the file's inode, mtime and size when read, its key or None if unusable, its
        # key id); the inode too: every key file has the same size, and a replaced one a new inode
        self._cache: dict[Path, tuple[tuple[int, int, int], Ed25519PublicKey | None, str]] = {}

    def key(self, workstation: str, kid: str) -> tuple[Ed25519PublicKey, str]:
        """The key of id `kid` the workstation is trusted with, current or retired, and the id
        of its current key; Refused 403 untrusted_workstation without a current key,
        unknown_key without that key."""
        current = self._read(current_path(self.directory, workstation), None)
        if current is None:
            log.warning("batch of %s refused: no trusted key for it", workstation)
            raise Refused(403, "untrusted_workstation")
        if current[1] == kid:
            return current
        retired = None
        if KEY_ID.match(kid):
            retired = self._read(retired_path(self.directory, workstation, kid), kid)
        if retired is None:
            shown = kid if KEY_ID.match(kid) else "(not a key id)"
            log.warning("batch of %s refused: key %s is not trusted for it", workstation, shown)
            raise Refused(403, "unknown_key")
        return retired[0], current[1]

    def newer(self, workstation: str, kid: str, current: str) -> Newer:
        """The keys newer than the retired key `kid` as the directory orders them; the current
        key alone, unordered, when it records no order for `kid`."""
        keys = newer_keys(self.directory, workstation, kid, current)
        return Newer((current,), ordered=False) if keys is None else Newer(keys, ordered=True)

    def _read(self, path: Path, kid: str | None) -> tuple[Ed25519PublicKey, str] | None:
        """The key in `path` and its id (which must be `kid` when given); None when the file is
        missing or holds no such key."""
        try:
            st = path.stat()
        except OSError as exc:
            if self._cache.pop(path, None) is not None or not isinstance(exc, FileNotFoundError):
                log.warning("trusted key file %s: %s", path.name, exc.strerror or "gone")
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, *_load(path, kid))
            self._cache[path] = cached
        _, public, found = cached
        return None if public is None else (public, found)


def _load(path: Path, kid: str | None) -> tuple[Ed25519PublicKey | None, str]:
    """A trust file's key and key id; logged (once per change of the file) when unusable."""
    try:
        public = load_public_key(path.read_bytes())
    except (OSError, WireError) as exc:
        log.warning("trusted key file %s is unusable: %s", path.name, exc)
        return None, ""
    found = key_id(public)
    if kid is not None and found != kid:
        log.warning("trusted key file %s holds key %s, not the one its name says", path.name, found)
        return None, ""
    return public, found


def decompress(data: bytes, encoding: str) -> bytes:
    """The request body, gunzipped when it says so; never more than MAX_BATCH_BYTES."""
    if encoding in ("", "identity"):
        if len(data) > MAX_BATCH_BYTES:
            raise Refused(413, "too_large")
        return data
    if encoding != "gzip":
        raise Refused(415, "unsupported_encoding")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_BATCH_BYTES + 1)
    except zlib.error:
        raise Refused(400, "bad_gzip") from None
    if len(out) > MAX_BATCH_BYTES:
        raise Refused(413, "too_large")
    if not inflater.eof:
        raise Refused(400, "bad_gzip")
    return out


def check(data: bytes, encoding: str, trust: Trust) -> CheckedBatch:
    """Decode and verify one batch, or raise Refused for the whole of it."""
    raw = decompress(data, encoding)
    try:
        batch: Batch = batch_decoder.decode(raw)
    except msgspec.ValidationError:
        raise Refused(400, "bad_batch") from None
    except msgspec.DecodeError:
        raise Refused(400, "bad_json") from None
    if batch.format != FORMAT:
        raise Refused(400, "unsupported_format")
    if batch.version != VERSION:
        raise Refused(400, "unsupported_version")
    if not WORKSTATION.match(batch.workstation):
        raise Refused(400, "bad_workstation")
    public, current_key = trust.key(batch.workstation, batch.key_id)
    links = []
    last = 0
    fromhex = bytes.fromhex
    for rec in batch.records:
        if rec.seq <= last or not RECORD_ID.match(rec.id):
            raise Refused(400, "bad_record")
        last = rec.seq
        try:
            body = rec.body.encode()
        except UnicodeEncodeError:  # a lone surrogate escape: not the text a workstation stored
            raise Refused(400, "bad_record") from None
        if len(rec.prev) != 64 or len(rec.hash) != 64 or len(rec.sig) != 128:
            raise Refused(400, "bad_record")
        try:
            link = Link(rec.seq, body, fromhex(rec.prev), fromhex(rec.hash), fromhex(rec.sig))
        except ValueError:
            raise Refused(400, "bad_record") from None
        links.append(link)
    reasons = verify_run(batch.workstation, public, links)
    records = [
        Checked(
            rec.id,
            ln.seq,
            ln.body,
            ln.prev,
            ln.hash,
            ln.sig,
            reason,
            () if reason else blob_refs(ln.body),
        )
        for rec, ln, reason in zip(batch.records, links, reasons, strict=True)
    ]
    newer = None
    if batch.key_id != current_key:
        newer = trust.newer(batch.workstation, batch.key_id, current_key)
    return CheckedBatch(batch.workstation, batch.key_id, records, newer)
