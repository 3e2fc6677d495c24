"""The record contract: UUIDv7 ids, timestamps, JSON Schema."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from edge import records
from edge.records import Uuid7, utc_timestamp
from tests.helpers import make_record


def test_uuid7_layout_and_order() -> None:
    source = Uuid7()
    ids = [source.new() for _ in range(10_000)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert ids == sorted(ids, key=lambda u: u.int)  # monotonic even within one millisecond
    assert len(set(ids)) == len(ids)


def test_timestamp_format() -> None:
    assert utc_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert utc_timestamp(1_790_000_000_123) == "2026-09-21T14:13:20.123Z"


def test_round_trip() -> None:
    record = make_record(3)
    assert records.decode(records.encode(record)) == record
    body = json.loads(records.encode(record))
    assert body["schema_version"] == records.SCHEMA_VERSION
    assert body["kind"] == "document"


def test_schema_command_prints_the_contract() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edge", "schema"], capture_output=True, text=True, check=True
    ).stdout
    schema = json.loads(out)
    record = schema["$defs"]["Record"]
    for field in (
        "schema_version",
        "id",
        "workstation",
        "seq",
        "captured_at",
        "device",
        "kind",
        "payload",
        "checks",
        "raw_sha256",
        "blobs",
    ):
        assert field in record["properties"]
    assert "id" in record["required"]
