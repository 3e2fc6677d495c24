"""The record contract: one validated, normalized capture, versioned and uniquely identified."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgspec

from edge.documents.result import Check, Issue

SCHEMA_VERSION = 1


class Kind(StrEnum):
    """What a record holds."""

    DOCUMENT = "document"
    BARCODE = "barcode"
    PORTRAIT = "portrait"
    CHIP = "chip"
    # A late alert-list hit on an earlier record (`payload.amends` names it); no capture.
    AMENDMENT = "amendment"


class Verdict(StrEnum):
    """The officer's one-word answer for a record."""

    VALID = "valid"
    INVALID = "invalid"
    EXPIRED = "expired"
    UNCHECKED = "unchecked"


class BlobRef(msgspec.Struct, frozen=True):
    """An image or other large object stored beside the record, addressed by content."""

    sha256: str
    media_type: str
    size: int
    role: str


class DeviceRef(msgspec.Struct, frozen=True, omit_defaults=True):
    """The device a capture came from: configured name, driver and what it says of itself."""

    name: str
    driver: str
    identity: dict[str, str] = msgspec.field(default_factory=dict)


class Record(msgspec.Struct, kw_only=True, frozen=True):
    """A committed capture. `id` (UUIDv7) is the idempotency key everywhere."""

    schema_version: int = SCHEMA_VERSION
    id: str
    workstation: str
    seq: int
    captured_at: str
    device: DeviceRef
    kind: Kind
    format: str | None = None
    verdict: Verdict = Verdict.UNCHECKED
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    checks: dict[str, Check] = msgspec.field(default_factory=dict)
    errors: list[Issue] = msgspec.field(default_factory=list)
    warnings: list[Issue] = msgspec.field(default_factory=list)
    raw: bytes = b""
    raw_sha256: str
    blobs: list[BlobRef] = msgspec.field(default_factory=list)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Record)


def encode(record: Record) -> bytes:
    """Canonical JSON bytes of a record."""
    return _encoder.encode(record)


def decode(data: bytes) -> Record:
    """A record from its JSON bytes."""
    return _decoder.decode(data)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the record contract."""
    schema = msgspec.json.schema(Record)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"midas-edge record, schema version {SCHEMA_VERSION}"
    return schema


def utc_timestamp(epoch_ms: int) -> str:
    """ISO 8601 UTC with milliseconds and a Z suffix."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


class Uuid7:
    """RFC 9562 UUIDv7 source, monotonic within the process even when the clock stalls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def new(self) -> uuid.UUID:
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                # Random start, top bit clear, leaves room to count within one millisecond.
                self._counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
            else:
                self._counter += 1
                if self._counter > 0xFFF:
                    self._last_ms += 1
                    self._counter = 0
            ms, counter = self._last_ms, self._counter
        tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76 | counter << 64 | 0b10 << 62 | tail
        return uuid.UUID(int=value)


new_id = Uuid7().new
