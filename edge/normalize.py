"""Turn a device capture into a record: pick the document parser, compute the verdict."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime

from drivers.base import Capture, CaptureKind
from edge.documents.bcbp import parse_bcbp
from edge.documents.certstore import CertificateStore
from edge.documents.mrz import parse_mrz
from edge.documents.result import Check, Issue, ParseResult
from edge.documents.vds import parse_seal
from edge.records import DeviceRef, Kind, Record, Verdict, new_id, utc_timestamp

log = logging.getLogger("midas_edge.normalize")

Parser = Callable[[Capture, date], ParseResult | None]
# Captures whose text came from optical character recognition carry meta["source"] == "ocr":
# their MRZ may be repaired where check digits prove it.
OCR_SOURCE = "ocr"

_KINDS = {
    CaptureKind.DOCUMENT: Kind.DOCUMENT,
    CaptureKind.BARCODE: Kind.BARCODE,
    CaptureKind.PORTRAIT: Kind.PORTRAIT,
    CaptureKind.CHIP: Kind.CHIP,
}


def document_parsers(certs: CertificateStore | None = None) -> dict[CaptureKind, Parser]:
    """The parsers of the document normalizers: MRZ text, boarding passes and visible seals."""

    def mrz(capture: Capture, today: date) -> ParseResult:
        text = capture.text if capture.text is not None else capture.raw
        return parse_mrz(text, ocr=capture.meta.get("source") == OCR_SOURCE, today=today)

    def barcode(capture: Capture, today: date) -> ParseResult | None:
        data = capture.payload if capture.payload is not None else capture.raw
        if data[:1] == b"\xdc" or data.lstrip()[:1] == b"{":
            return parse_seal(data, certs=certs)
        if data[:1] == b"M" and data[1:2].isdigit():
            return parse_bcbp(data, scan_date=today)
        return None  # a plain product or ticket code: stored, not a travel document

    return {CaptureKind.DOCUMENT: mrz, CaptureKind.BARCODE: barcode}


def expiry_check(parsed: ParseResult, on: date) -> Check | None:
    """Whether a document with a full expiry date is still valid `on` that day; None if dateless."""
    expiry = parsed.fields.get("expiry_date")
    if not (isinstance(expiry, str) and len(expiry) == 10):
        return None
    return Check.FAILED if expiry < on.isoformat() else Check.PASSED


def verdict_of(parsed: ParseResult | None, on: date) -> Verdict:
    """valid / invalid / expired for a parsed document; unchecked when nothing parsed it."""
    if parsed is None:
        return Verdict.UNCHECKED
    if not parsed.valid:
        return Verdict.INVALID
    return Verdict.EXPIRED if expiry_check(parsed, on) is Check.FAILED else Verdict.VALID


class Normalizer:
    """Capture → Record. Parsers are chosen by capture kind; pure and fast, run on the loop."""

    def __init__(self, workstation: str, parsers: dict[CaptureKind, Parser] | None = None) -> None:
        self.workstation = workstation
        self.parsers = dict(parsers or {})

    def __call__(self, capture: Capture, device: DeviceRef) -> Record:
        captured_on = datetime.fromtimestamp(capture.captured_at_ms / 1000, UTC).date()
        parser = self.parsers.get(capture.kind)
        parsed: ParseResult | None = None
        failure: list[Issue] = []
        if parser is not None:
            try:
                parsed = parser(capture, captured_on)
            except Exception:
                # A parser bug must not lose the capture: keep it unparsed, say so loudly.
                log.exception("normalizer failed", extra={"device": device.name})
                failure = [Issue("normalizer_failed", "the document could not be parsed")]
        checks: dict[str, Check] = {}
        if parsed is not None:
            checks = dict(parsed.checks)
            not_expired = expiry_check(parsed, captured_on)
            if not_expired is not None:
                checks["not_expired"] = not_expired
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
            errors=list(parsed.errors) if parsed else failure,
            warnings=list(parsed.warnings) if parsed else [],
            raw=capture.raw,
            raw_sha256=hashlib.sha256(capture.raw).hexdigest(),
        )
