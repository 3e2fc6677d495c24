"""1D reads from frames are validated: truncated reads and wrong check digits are dropped,
counted by reason and logged without their content."""

from __future__ import annotations

import logging

import pytest

from drivers.camera.code_checks import (
    DEFAULT_MIN_LENGTH,
    ReadRules,
    check_read,
    gtin_check_digit,
    upce_to_upca,
)
from drivers.camera.codes import CodeRead
from drivers.camera.scan import FrameScanner
from tests.drivers.camera_codes_support import Placed, Ticker, frame, symbol

HD = (1280, 720)


def read(symbology: str, payload: bytes, variant: str = "") -> CodeRead:
    return CodeRead(symbology, payload, payload.decode("latin-1"), ((0, 0),) * 4, 0, variant)


@pytest.mark.parametrize(
    ("payload", "variant", "reason"),
    [
        (b"4006381333931", "ean13", None),
        (b"4006381333932", "ean13", "check_digit"),  # last digit wrong
        (b"4006381333913", "ean13", "check_digit"),  # two digits swapped
        (b"400638133393", "ean13", "check_digit"),  # truncated to 12 digits
        (b"40063813339", "ean13", "bad_length"),  # truncated to 11 digits
        (b"40063813339311", "ean13", "bad_length"),
        (b"40063813339A1", "ean13", "bad_characters"),
        (b"96385074", "ean8", None),
        (b"96385075", "ean8", "check_digit"),
        (b"036000291452", "upca", None),
        (b"036000291453", "upca", "check_digit"),
        (b"0036000291452", "ean13", None),  # UPC-A in its EAN-13 form
        (b"01234565", "upce", None),
        (b"01234566", "upce", "check_digit"),
        (b"21234565", "upce", "check_digit"),  # UPC-E has number systems 0 and 1 only
        (b"0012345000065", "upce", None),  # UPC-E expanded to EAN-13 by zxing-cpp and zbar
    ],
)
def test_ean_upc_check_digit_and_length(payload: bytes, variant: str, reason: str | None) -> None:
    assert check_read(read("ean_upc", payload, variant), ReadRules()) == reason


def test_check_digit_helpers() -> None:
    assert gtin_check_digit("400638133393") == 1
    assert gtin_check_digit("9638507") == 4
    assert gtin_check_digit("1234567") == 0
    assert upce_to_upca("01234565") == "012345000065"
    assert upce_to_upca("04252614") == "042100005264"  # last digit 2: manufacturer 4 2 2 0 0
    assert upce_to_upca("01234133") == "012300000413"  # last digit 3
    assert upce_to_upca("01234149") == "012340000019"  # last digit 4


@pytest.mark.parametrize(
    ("payload", "rules", "reason"),
    [
        (b"12345670", ReadRules(), None),
        (b"12345678", ReadRules(), None),  # no check digit asked for
        (b"12345678", ReadRules(itf_check_digit=True), "check_digit"),
        (b"12345670", ReadRules(itf_check_digit=True), None),
        (b"10012345678902", ReadRules(itf_check_digit=True), None),  # ITF-14
        (b"1234567", ReadRules(), "odd_length"),
        (b"1234", ReadRules(), "too_short"),
        (b"1234", ReadRules(min_length={"itf": 4}), None),
        (b"12345A", ReadRules(), "bad_characters"),
    ],
)
def test_itf_length_and_optional_check_digit(
    payload: bytes, rules: ReadRules, reason: str | None
) -> None:
    assert check_read(read("itf", payload, "itf"), rules) == reason


def test_minimum_lengths_per_symbology() -> None:
    rules = ReadRules(min_length={"code128": 8, "qr": 2})
    assert rules.minimum("code128") == 8
    assert rules.minimum("code39") == DEFAULT_MIN_LENGTH["code39"]
    assert rules.minimum("pdf417") == 1
    assert check_read(read("code128", b"ABC1234"), rules) == "too_short"
    assert check_read(read("code128", b"ABC12345"), rules) is None
    assert check_read(read("code39", b"ABC"), rules) == "too_short"
    assert check_read(read("code39", b"ABCD"), rules) is None
    assert check_read(read("qr", b"A"), rules) == "too_short"
    assert check_read(read("pdf417", b""), rules) == "too_short"


@pytest.mark.parametrize(
    ("min_length", "message"),
    [
        ({"code129": 4}, "unknown barcode format 'code129'"),
        ({"itf": 0}, r"min_length.itf: expected an integer >= 1, got 0"),
        ({"itf": "6"}, r"min_length.itf: expected an integer >= 1, got '6'"),
        ({"itf": True}, r"min_length.itf: expected an integer >= 1"),
    ],
)
def test_bad_rules_are_refused(min_length: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReadRules(min_length=min_length)  # type: ignore[arg-type]  # a config file's values


def test_short_1d_reads_in_frames_are_dropped_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    placed = [
        Placed(symbol("1234", "itf", 3), (300, 200)),  # a partial ITF read looks like this
        Placed(symbol("AB", "code39", 3), (900, 200)),
        Placed(symbol("12345670", "itf", 3), (300, 550)),
        Placed(symbol("CARTON-42", "code39", 3), (900, 550)),
    ]
    grey = frame(HD, placed, seed=21)
    clock = Ticker()
    scanners = [FrameScanner([fmt], clock=clock) for fmt in ("itf", "code39")]
    with caplog.at_level(logging.INFO, logger="midas_edge.camera"):
        first = [c.payload for scanner in scanners for c in scanner.scan(grey)]
        clock.advance(0.5)
        second = [c.payload for scanner in scanners for c in scanner.scan(grey)]
    assert first == [b"12345670", b"CARTON-42"]
    assert second == []
    assert scanners[0].counters.snapshot() == {
        "frames": 2,
        "decoded": 4,
        "delivered": 1,
        "duplicates": 1,
        "rejected_too_short": 2,
    }
    for scanner in scanners:
        assert scanner.counters.rejected == {"too_short": 2}
        assert scanner.counters.decoded == 4
        assert scanner.counters.delivered == 1
        assert scanner.counters.duplicates == 1
    rejections = [r for r in caplog.records if r.getMessage() == "barcode read rejected"]
    assert [(r.symbology, r.bytes, r.reason) for r in rejections] == [  # type: ignore[attr-defined]
        ("itf", 4, "too_short"),
        ("code39", 2, "too_short"),
    ]
    standard = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
    for record in rejections:  # a length, never the content of a read
        assert set(vars(record)) - standard - {"message"} == {
            "reason",
            "symbology",
            "bytes",
            "backend",
        }


def test_itf_check_digit_when_configured() -> None:
    placed = [
        Placed(symbol("12345678", "itf", 3), (400, 360)),
        Placed(symbol("10012345678902", "itf", 3), (900, 360)),
    ]
    grey = frame(HD, placed, seed=22)
    plain = FrameScanner(["itf"])
    assert sorted(c.raw for c in plain.scan(grey)) == [b"10012345678902", b"12345678"]
    checked = FrameScanner(["itf"], rules=ReadRules(itf_check_digit=True))
    assert [c.payload for c in checked.scan(grey)] == [b"10012345678902"]
    assert checked.counters.rejected == {"check_digit": 1}
