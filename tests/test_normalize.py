"""Captures become records with the right parser, checks and verdict."""

from __future__ import annotations

from datetime import date

from drivers.base import Capture, CaptureKind
from drivers.sim.driver import IATA_BCBP, ICAO_TD1, ICAO_TD3
from edge.documents.result import Check
from edge.normalize import Normalizer, document_parsers
from edge.records import DeviceRef, Verdict

DEVICE = DeviceRef("reader", "sim")
# 2011-06-01: before the ICAO specimens' expiry (2012-04-15).
BEFORE_EXPIRY_MS = 1_306_886_400_000
AFTER_EXPIRY_MS = 1_790_000_000_000


def mrz_capture(text: str, at_ms: int, **meta: str) -> Capture:
    raw = (text.replace("\n", "\r") + "\r").encode()
    return Capture(CaptureKind.DOCUMENT, raw, at_ms, text=text, meta=meta)


def test_valid_passport() -> None:
    record = Normalizer("ws", document_parsers())(mrz_capture(ICAO_TD3, BEFORE_EXPIRY_MS), DEVICE)
    assert record.format == "td3"
    assert record.verdict is Verdict.VALID
    assert record.checks["composite"] is Check.PASSED
    assert record.checks["not_expired"] is Check.PASSED
    assert record.payload["fields"]["expiry_date"] == "2012-04-15"
    assert record.captured_at == "2011-06-01T00:00:00.000Z"


def test_expired_id_card() -> None:
    record = Normalizer("ws", document_parsers())(mrz_capture(ICAO_TD1, AFTER_EXPIRY_MS), DEVICE)
    assert record.format == "td1"
    assert record.verdict is Verdict.EXPIRED
    assert record.checks["not_expired"] is Check.FAILED


def test_check_digit_failure_is_invalid_and_ocr_repairs_with_proof() -> None:
    broken = ICAO_TD3.replace("7408122F", "74O8122F")  # letter O read for the digit 0
    normalizer = Normalizer("ws", document_parsers())
    plain = normalizer(mrz_capture(broken, BEFORE_EXPIRY_MS), DEVICE)
    assert plain.verdict is Verdict.INVALID
    assert plain.errors
    repaired = normalizer(mrz_capture(broken, BEFORE_EXPIRY_MS, source="ocr"), DEVICE)
    assert repaired.verdict is Verdict.VALID
    (correction,) = repaired.payload["corrections"]
    assert (correction.original, correction.replacement) == ("O", "0")


def test_barcodes_are_routed_by_content() -> None:
    normalizer = Normalizer("ws", document_parsers())
    at = int((date(2026, 8, 10) - date(1970, 1, 1)).total_seconds() * 1000)
    bcbp = normalizer(
        Capture(CaptureKind.BARCODE, IATA_BCBP.encode(), at, text=IATA_BCBP, symbology="pdf417"),
        DEVICE,
    )
    assert bcbp.format == "bcbp"
    assert bcbp.verdict is Verdict.VALID
    assert bcbp.payload["symbology"] == "pdf417"
    leg = bcbp.payload["fields"]["legs"][0]
    assert leg["date_of_flight"] == "2026-08-14"  # Julian day 226, year from the scan date
    product = normalizer(
        Capture(CaptureKind.BARCODE, b"4006381333931", at, text="4006381333931"), DEVICE
    )
    assert product.format is None
    assert product.verdict is Verdict.UNCHECKED
    seal = normalizer(Capture(CaptureKind.BARCODE, b"\xdc\x03garbage", at), DEVICE)
    assert seal.format == "vds"
    assert seal.verdict is Verdict.INVALID


def test_a_parser_bug_keeps_the_capture_unparsed() -> None:
    def broken(capture: Capture, today: date) -> None:
        raise RuntimeError("parser bug")

    normalizer = Normalizer("ws", {CaptureKind.DOCUMENT: broken})
    record = normalizer(mrz_capture(ICAO_TD3, BEFORE_EXPIRY_MS), DEVICE)
    assert record.verdict is Verdict.UNCHECKED
    assert [e.code for e in record.errors] == ["normalizer_failed"]
    assert record.raw.startswith(b"P<UTO")
