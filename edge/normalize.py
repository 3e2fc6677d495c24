"""Turn a device capture into a record: pick the document parser, compute the verdict."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime

from drivers.base import Capture, CaptureKind
from edge.documents.result import Check, ParseResult
from edge.records import DeviceRef, Kind, Record, Verdict, new_id, utc_timestamp

Parser = Callable[[Capture, date], ParseResult | None]

_KINDS = {
    CaptureKind.DOCUMENT: Kind.DOCUMENT,
    CaptureKind.BARCODE: Kind.BARCODE,
    CaptureKind.PORTRAIT: Kind.PORTRAIT,
    CaptureKind.CHIP: Kind.CHIP,
}


def verdict_of(parsed: ParseResult | None, on: date) -> Verdict:
    """valid / invalid / expired for a parsed document; unchecked when nothing parsed it."""
    if parsed is None:
        return Verdict.UNCHECKED
    if not parsed.valid:
        return Verdict.INVALID
    expiry = parsed.fields.get("expiry_date")
    if isinstance(expiry, str) and len(expiry) == 10 and expiry < on.isoformat():
        return Verdict.EXPIRED
    return Verdict.VALID


class Normalizer:
    """Capture → Record. Parsers are chosen by capture kind; pure and fast, run on the loop."""

    def __init__(self, workstation: str, parsers: dict[CaptureKind, Parser] | None = None) -> None:
        self.workstation = workstation
        self.parsers = dict(parsers or {})

    def __call__(self, capture: Capture, device: DeviceRef) -> Record:
        captured_on = datetime.fromtimestamp(capture.captured_at_ms / 1000, UTC).date()
        parser = self.parsers.get(capture.kind)
        parsed = parser(capture, captured_on) if parser else None
        checks: dict[str, Check] = {}
        if parsed is not None:
            checks = dict(parsed.checks)
            expiry = parsed.fields.get("expiry_date")
            if isinstance(expiry, str) and len(expiry) == 10:
                expired = expiry < captured_on.isoformat()
                checks["not_expired"] = Check.FAILED if expired else Check.PASSED
        payload: dict[str, object] = {}
        if parsed is not None:
            payload = {"fields": parsed.fields, "corrections": parsed.corrections}
        if capture.symbology:
            payload["symbology"] = capture.symbology
        if capture.text is not None:
            payload["text"] = capture.text
        return Record(
            id=str(new_id()),
            workstation=self.workstation,
            seq=0,
            captured_at=utc_timestamp(capture.captured_at_ms),
            device=device,
            kind=_KINDS[capture.kind],
            format=parsed.format if parsed else None,
            verdict=verdict_of(parsed, captured_on),
            payload=payload,
            checks=checks,
            errors=list(parsed.errors) if parsed else [],
            warnings=list(parsed.warnings) if parsed else [],
            raw=capture.raw,
            raw_sha256=hashlib.sha256(capture.raw).hexdigest(),
        )
