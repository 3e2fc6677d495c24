"""Malformed BCBP input is a result with a typed reason and an offset, never an exception."""

from __future__ import annotations

import re
from datetime import date

import pytest

from edge.documents.bcbp import parse_bcbp
from edge.documents.result import Check, ParseResult
from edge.errors import DocumentError
from tests.documents.test_bcbp_examples import B_EXAMPLE_1, B_EXAMPLE_2, GUIDE_MANDATORY

SCAN = date(2016, 8, 14)

# Offsets (0-based) in GUIDE_MANDATORY and B_EXAMPLE_2.
ITEM_6 = 58
MARKER = 60  # `>` of leg 1's conditional items
ITEM_10 = 62
UNIQUE = 64
ITEM_17 = 88
LEG_2 = 137
LEG_2_ITEM_6 = LEG_2 + 35
LEG_2_ITEM_17 = LEG_2 + 37
SECURITY = 220


def splice(text: str, at: int, new: str, old_length: int | None = None) -> str:
    """`text` with `new` written over `old_length` characters (default: len(new)) at `at`."""
    end = at + (len(new) if old_length is None else old_length)
    return text[:at] + new + text[end:]


def splice_bytes(data: bytes, at: int, new: bytes) -> bytes:
    """`data` with `new` written over as many bytes at `at`."""
    return data[:at] + new + data[at + len(new) :]


def reject(data: str | bytes, code: str, column: int) -> ParseResult:
    """Parse, check the only error is `code` at 1-based `column`, and that no data leaks."""
    result = parse_bcbp(data, scan_date=SCAN)
    assert not result.valid
    assert [(e.code, e.column) for e in result.errors] == [(code, column)], result.errors
    assert all(e.line is None for e in result.errors)
    assert result.checks["structure"] is Check.FAILED
    assert result.format == "bcbp"
    assert_no_data_in_messages(result, data)
    return result


def assert_no_data_in_messages(result: ParseResult, data: str | bytes) -> None:
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    tokens = {t for t in re.findall(r"[A-Za-z0-9/]{3,}", text) if re.search("[A-Z]", t)}
    for issue in [*result.errors, *result.warnings]:
        leaked = [t for t in tokens if t in issue.message]
        assert not leaked, (issue, leaked)


@pytest.mark.parametrize("data", [None, 42, 4.2, ["M1"], {"legs": []}, memoryview(b"M1")])
def test_input_that_is_not_text_raises_document_error(data: object) -> None:
    with pytest.raises(DocumentError, match="str or bytes"):
        parse_bcbp(data)  # type: ignore[arg-type]  # the point is a wrong type


def test_empty() -> None:
    reject("", "too_short", 1)
    reject(b"", "too_short", 1)


@pytest.mark.parametrize("code", ["S", "m", "1", " ", ">"])
def test_bad_format_code(code: str) -> None:
    reject(code + GUIDE_MANDATORY[1:], "bad_format_code", 1)


@pytest.mark.parametrize("legs", ["0", "5", "9", "A", " "])
def test_bad_number_of_legs(legs: str) -> None:
    reject(splice(GUIDE_MANDATORY, 1, legs), "bad_leg_count", 2)


def test_format_code_alone() -> None:
    reject("M", "bad_leg_count", 2)


@pytest.mark.parametrize("length", [2, 23, 40, 59])
def test_shorter_than_mandatory_items(length: int) -> None:
    result = reject(GUIDE_MANDATORY[:length], "too_short", length + 1)
    assert "60" in result.errors[0].message


def test_guide_misprint_without_flight_number_padding_is_rejected() -> None:
    # The guide's BA example lost a space in the flight number: 59 characters.
    reject(GUIDE_MANDATORY.replace("0834 ", "0834"), "too_short", 60)


def test_second_leg_cut_short() -> None:
    reject(B_EXAMPLE_2[: LEG_2 + 20], "truncated", LEG_2 + 21)


@pytest.mark.parametrize("size", ["0G", " 0", "0 ", "+1", "-1", "1_", "0x", "  "])
def test_item_6_not_hex(size: str) -> None:
    reject(splice(GUIDE_MANDATORY, ITEM_6, size), "bad_size_field", ITEM_6 + 1)


def test_lowercase_hex_is_hex() -> None:
    text = splice(B_EXAMPLE_2, ITEM_6, "4d")
    assert parse_bcbp(text, scan_date=SCAN).valid


@pytest.mark.parametrize(
    ("at", "what"),
    [(ITEM_10, "item 10"), (ITEM_17, "item 17"), (LEG_2_ITEM_6, "item 6"), (SECURITY + 2, "")],
)
def test_other_size_fields_not_hex(at: int, what: str) -> None:
    result = reject(splice(B_EXAMPLE_2, at, "G1"), "bad_size_field", at + 1)
    assert what in result.errors[0].message


def test_item_6_points_past_the_end() -> None:
    reject(splice(GUIDE_MANDATORY, ITEM_6, "05"), "size_overflow", ITEM_6 + 1)
    reject(splice(B_EXAMPLE_1, ITEM_6, "FF"), "size_overflow", ITEM_6 + 1)


def test_item_6_too_long_leaves_the_next_leg_cut_short() -> None:
    # Leg 1 ends 255 characters on, too near the end for leg 2's 37 mandatory characters.
    reject(splice(B_EXAMPLE_2, ITEM_6, "FF"), "truncated", len(B_EXAMPLE_2) + 1)


def test_item_6_swallowing_the_next_leg_leaves_a_leg_missing() -> None:
    # Leg 1's airline individual use then runs up to the security section: no data for leg 2.
    text = splice(B_EXAMPLE_2, ITEM_6, f"{SECURITY - MARKER:02X}")
    reject(text, "leg_count_mismatch", SECURITY + 1)


def test_item_10_points_past_item_6() -> None:
    reject(splice(B_EXAMPLE_2, ITEM_10, "4A"), "size_overflow", ITEM_10 + 1)


def test_item_17_points_past_item_6() -> None:
    reject(splice(B_EXAMPLE_2, ITEM_17, "30"), "size_overflow", ITEM_17 + 1)
    reject(splice(B_EXAMPLE_2, LEG_2_ITEM_17, "2D"), "size_overflow", LEG_2_ITEM_17 + 1)


def test_security_length_points_past_the_end() -> None:
    reject(splice(B_EXAMPLE_2, SECURITY + 2, "65"), "size_overflow", SECURITY + 3)


def test_security_header_cut_short() -> None:
    reject(GUIDE_MANDATORY + "^1", "truncated", 63)
    reject(GUIDE_MANDATORY + "^", "truncated", 62)


def test_more_legs_declared_than_present() -> None:
    result = reject(splice(GUIDE_MANDATORY, 1, "2"), "leg_count_mismatch", 61)
    assert "2 legs declared" in result.errors[0].message
    # The security section starts where leg 2 should.
    reject(splice(B_EXAMPLE_1, 1, "3"), "leg_count_mismatch", 61)
    reject(splice(B_EXAMPLE_2, 1, "4"), "leg_count_mismatch", SECURITY + 1)


def test_fewer_legs_declared_than_present() -> None:
    result = reject(splice(B_EXAMPLE_2, 1, "1"), "leg_count_mismatch", LEG_2 + 1)
    assert "more than the 1" in result.errors[0].message
    # The first leg is still there for whoever looks at the rejected pass.
    assert result.fields["legs"][0]["from_airport"] == "YUL"


@pytest.mark.parametrize("tail", ["X", " ", "00", "ABC123 YULFRAAC 0834 226F001A0025 1"])
def test_trailing_data_after_the_last_leg(tail: str) -> None:
    reject(GUIDE_MANDATORY + tail, "trailing_data", 61)


def test_trailing_data_after_the_security_section() -> None:
    reject(B_EXAMPLE_2 + "Z", "trailing_data", len(B_EXAMPLE_2) + 1)
    reject(B_EXAMPLE_1 + "^100", "trailing_data", len(B_EXAMPLE_1) + 1)


@pytest.mark.parametrize(
    ("data", "column"),
    [
        (splice(GUIDE_MANDATORY, 9, "\x00"), 10),
        (splice(GUIDE_MANDATORY, 9, "\t"), 10),
        (splice(GUIDE_MANDATORY, 2, "É"), 3),
        (GUIDE_MANDATORY + "\r\n", 61),
        (GUIDE_MANDATORY + "\x7f", 61),
        (B_EXAMPLE_2.replace("LX58Z", "LX\u200b5Z"), 135),
        (splice(GUIDE_MANDATORY, 9, "\x00").encode("ascii"), 10),
        (splice_bytes(GUIDE_MANDATORY.encode("ascii"), 2, b"\xc3\x89"), 3),
        (b"\xff" * 80, 1),
    ],
)
def test_non_printable_characters(data: str | bytes, column: int) -> None:
    reject(data, "non_printable", column)


@pytest.mark.parametrize("variable", ["X", "ABC", "<6000"])
def test_leg_1_variable_part_without_conditional_marker(variable: str) -> None:
    text = splice(GUIDE_MANDATORY, ITEM_6, f"{len(variable):02X}") + variable
    reject(text, "bad_conditional_marker", MARKER + 1)


@pytest.mark.parametrize("version", ["0", "A", " ", ">"])
def test_bad_version_number(version: str) -> None:
    reject(splice(B_EXAMPLE_2, MARKER + 1, version), "bad_version", MARKER + 2)


@pytest.mark.parametrize("variable", [">", ">6", ">60"])
def test_item_6_ends_inside_the_conditional_header(variable: str) -> None:
    text = splice(GUIDE_MANDATORY, ITEM_6, f"{len(variable):02X}") + variable
    reject(text, "field_split", MARKER + len(variable) + 1)


def test_item_10_ends_inside_a_field() -> None:
    # 5 characters: description, two sources, then 2 of the 4 of the date of issue.
    text = GUIDE_MANDATORY[:ITEM_6] + "0B>605" + "1WW62" + "00"
    result = reject(text, "field_split", UNIQUE + 6)
    assert "date_of_issue_of_boarding_pass" in result.errors[0].message


def test_item_17_ends_inside_a_field() -> None:
    text = GUIDE_MANDATORY[:ITEM_6] + "0B>6000501412"
    reject(text, "field_split", UNIQUE + 2 + 5 + 1)


def test_item_6_ends_inside_item_17() -> None:
    # Leg 2's variable part holds one character: item 17 needs two.
    text = B_EXAMPLE_2[:LEG_2_ITEM_6] + "010"
    reject(text, "field_split", LEG_2_ITEM_6 + 4)


def test_unique_block_longer_than_its_fields() -> None:
    blank = " " * 51
    text = GUIDE_MANDATORY[:ITEM_6] + f"{4 + 51:02X}>633" + blank
    result = reject(text, "block_too_long", ITEM_10 + 1)
    assert "at most 50" in result.errors[0].message


def test_repeated_block_longer_than_its_fields() -> None:
    text = GUIDE_MANDATORY[:ITEM_6] + f"{4 + 2 + 43:02X}>6002B" + "0" * 43
    reject(text, "block_too_long", UNIQUE + 1)


def test_version_newer_than_8_warns_and_reads_known_fields() -> None:
    unique = "1WW6225BAC 0014123456003" + " " * 26 + "NEWFIELD"
    text = GUIDE_MANDATORY[:ITEM_6] + f"{4 + len(unique):02X}>9{len(unique):02X}" + unique
    result = parse_bcbp(text, scan_date=SCAN)
    assert result.valid, result.errors
    assert [(w.code, w.column) for w in result.warnings] == [
        ("unknown_version", MARKER + 2),
        ("unknown_conditional_data", UNIQUE + 50 + 1),
    ]
    assert result.fields["version_number"] == 9
    assert result.fields["date_of_issue_of_boarding_pass"] == "2016-08-12"
    assert result.fields["second_non_consecutive_baggage_tag_license_plate_numbers"] == ""
    assert_no_data_in_messages(result, text)


def test_version_9_alone_is_a_warning() -> None:
    result = parse_bcbp(splice(B_EXAMPLE_2, MARKER + 1, "9"), scan_date=SCAN)
    assert result.valid
    assert [w.code for w in result.warnings] == ["unknown_version"]
    assert result.checks["structure"] is Check.PASSED


def test_partial_fields_are_kept_on_failure() -> None:
    result = reject(B_EXAMPLE_2[:-1], "size_overflow", SECURITY + 3)
    assert result.fields["passenger_name"] == "DESMARAIS/LUC"
    assert len(result.fields["legs"]) == 2
    assert result.checks["security_signature"] is Check.UNDETERMINED


def test_date_errors_survive_a_later_structural_error() -> None:
    text = splice(GUIDE_MANDATORY, 44, "400") + "X"
    result = parse_bcbp(text, scan_date=SCAN)
    assert [(e.code, e.column) for e in result.errors] == [
        ("bad_date", 45),
        ("trailing_data", 61),
    ]
    assert result.checks["dates"] is Check.FAILED
