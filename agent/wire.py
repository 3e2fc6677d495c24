"""The wire format between a workstation and a regional server (version 1).

`POST /v1/batches` with a gzip-compressed JSON `Batch`; the answer is a `Receipts` with one
receipt per record id, in the batch's order. A resent record (same id) gets the same answer
as the first time ("duplicate" after "stored"); a record that can never be accepted is
"rejected" with a reason code, and the workstation parks it as a dead letter.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

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
