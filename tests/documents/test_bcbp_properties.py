"""BCBP properties: encoder round trips, generator validity, robustness to random input."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.documents.bcbp import encode_bcbp, parse_bcbp
from edge.documents.bcbp_dates import julian_day
from edge.documents.bcbp_fields import LEG_FIELDS, REPEATED_FIELDS, UNIQUE_FIELDS
from edge.documents.bcbp_gen import random_bcbp, random_bcbp_fields
from edge.documents.result import Check, ParseResult

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
PNR_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
NAME = "QUIXOTESPECIMEN/ZED"
ERROR_CODES = {
    "too_short",
    "non_printable",
    "bad_format_code",
    "bad_leg_count",
    "truncated",
    "bad_size_field",
    "size_overflow",
    "leg_count_mismatch",
    "trailing_data",
    "bad_conditional_marker",
    "bad_version",
    "field_split",
    "block_too_long",
    "bad_date",
}
WARNING_CODES = {"unknown_version", "unknown_conditional_data"}


def field_text(width: int) -> st.SearchStrategy[str]:
    """What a fixed-width field parses back to: printable ASCII without padding spaces."""
    return st.text(PRINTABLE, max_size=width).map(str.strip)


@st.composite
def pass_fields(draw: st.DrawFn) -> tuple[dict[str, Any], date]:
    """Fields of a valid pass, as the parser returns them at the scan date drawn with them."""
    scan = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
    fields: dict[str, Any] = {
        "format_code": "M",
        "passenger_name": draw(field_text(20)),
        "electronic_ticket_indicator": draw(field_text(1)),
    }
    unique_count = draw(st.integers(0, len(UNIQUE_FIELDS)))
    conditional = unique_count > 0 or draw(st.booleans())
    issued: date | None = None
    if conditional:
        fields["version_number"] = draw(st.integers(1, 8))
        for name, width in UNIQUE_FIELDS[:unique_count]:
            if name == "date_of_issue_of_boarding_pass":
                if draw(st.booleans()):
                    issued = scan - timedelta(days=draw(st.integers(-1, 3000)))
                    fields[name] = issued.isoformat()
                    fields[f"{name}_julian"] = f"{issued.year % 10}{julian_day(issued):03d}"
                else:
                    fields[name] = fields[f"{name}_julian"] = ""
            else:
                fields[name] = draw(field_text(width))
    legs = []
    for _ in range(draw(st.integers(1, 4))):
        if issued is None:
            flight = scan + timedelta(days=draw(st.integers(-180, 180)))
        else:
            flight = issued + timedelta(days=draw(st.integers(0, 364)))
        leg: dict[str, Any] = {
            name: draw(field_text(width)) for name, width in LEG_FIELDS if name != "date_of_flight"
        }
        # A leg starts with the PNR: alphanumeric, as the standard has it.
        leg["operating_carrier_pnr"] = draw(
            st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", max_size=7)
        )
        leg["date_of_flight"] = flight.isoformat()
        leg["date_of_flight_julian"] = f"{julian_day(flight):03d}"
        if conditional:
            count = draw(st.integers(0, len(REPEATED_FIELDS)))
            for name, width in REPEATED_FIELDS[:count]:
                leg[name] = draw(field_text(width))
            if draw(st.booleans()):
                leg["airline_individual_use"] = draw(st.text(PRINTABLE, min_size=1, max_size=100))
        legs.append(leg)
    fields["number_of_legs"] = len(legs)
    fields["legs"] = legs
    if draw(st.booleans()):
        fields["security_data_type"] = draw(PRINTABLE)
        fields["security_data"] = draw(st.text(PRINTABLE, max_size=255))
    return fields, scan


def check_result(result: ParseResult, data: str | bytes) -> None:
    """Invariants of every result, valid or not."""
    assert result.format == "bcbp"
    assert result.corrections == []
    assert result.valid == (not result.errors)
    assert {e.code for e in result.errors} <= ERROR_CODES
    assert {w.code for w in result.warnings} <= WARNING_CODES
    for issue in [*result.errors, *result.warnings]:
        assert issue.column is not None
        assert 1 <= issue.column <= len(data) + 1
        assert NAME not in issue.message
    if result.valid:
        assert result.checks["structure"] is Check.PASSED
        assert result.checks["security_signature"] in {Check.NOT_SUPPORTED, Check.NOT_APPLICABLE}


@given(pass_fields())
def test_encode_parse_round_trip(drawn: tuple[dict[str, Any], date]) -> None:
    fields, scan = drawn
    text = encode_bcbp(fields)
    result = parse_bcbp(text, scan_date=scan)
    assert result.errors == []
    assert result.valid
    assert result.fields == fields
    assert encode_bcbp(result.fields) == text
    expected = Check.NOT_SUPPORTED if "security_data" in fields else Check.NOT_APPLICABLE
    assert result.checks["security_signature"] is expected


@given(pass_fields())
def test_bytes_round_trip(drawn: tuple[dict[str, Any], date]) -> None:
    fields, scan = drawn
    assert parse_bcbp(encode_bcbp(fields).encode("ascii"), scan_date=scan).fields == fields


@given(st.integers(0, 2**32 - 1))
def test_generator_passes_are_valid(seed: int) -> None:
    scan = date(2025, 3, 14)
    rng = random.Random(seed)
    fields = random_bcbp_fields(rng, scan_date=scan)
    text = encode_bcbp(fields)
    result = parse_bcbp(text, scan_date=scan)
    assert result.valid, result.errors
    assert result.fields == fields
    assert random_bcbp(random.Random(seed), scan_date=scan) == text


@pytest.mark.parametrize("legs", [1, 2, 3, 4])
@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("security", [False, True])
def test_generator_options(legs: int, conditional: bool, security: bool) -> None:
    scan = date(2024, 2, 29)
    text = random_bcbp(
        random.Random(legs), scan_date=scan, legs=legs, conditional=conditional, security=security
    )
    result = parse_bcbp(text, scan_date=scan)
    assert result.valid
    assert result.fields["number_of_legs"] == legs
    assert ("version_number" in result.fields) == conditional
    assert ("security_data" in result.fields) == security


@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    check_result(parse_bcbp(text, scan_date=date(2025, 1, 1)), text)


@given(st.text(PRINTABLE, max_size=400))
def test_random_printable_text_never_raises(text: str) -> None:
    check_result(parse_bcbp("M1" + text, scan_date=date(2025, 1, 1)), "M1" + text)


@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    check_result(parse_bcbp(data, scan_date=date(2025, 1, 1)), data)


MUTATION = st.sampled_from(["flip", "insert", "delete", "replace", "truncate", "duplicate"])


@settings(max_examples=300)
@given(pass_fields(), st.lists(st.tuples(MUTATION, st.integers(0, 10**6), PRINTABLE), max_size=4))
def test_mutated_passes_never_raise(
    drawn: tuple[dict[str, Any], date], mutations: list[tuple[str, int, str]]
) -> None:
    fields, scan = drawn
    fields["passenger_name"] = NAME
    text = encode_bcbp(fields)
    for kind, where, char in mutations:
        at = where % (len(text) + 1)
        if kind == "flip" and at < len(text):
            text = text[:at] + chr(ord(text[at]) ^ (1 << (where % 7))) + text[at + 1 :]
        elif kind == "insert":
            text = text[:at] + char + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + 1 :]
        elif kind == "replace":
            text = text[:at] + char + text[at + 1 :]
        elif kind == "truncate":
            text = text[:at]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + 1 + where % 40] + text[at:]
    check_result(parse_bcbp(text, scan_date=scan), text)


@given(st.dates(), pass_fields())
def test_any_scan_date_never_raises(scan: date, drawn: tuple[dict[str, Any], date]) -> None:
    text = encode_bcbp(drawn[0])
    check_result(parse_bcbp(text, scan_date=scan), text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legs": []}, "legs"),
        ({"legs": [{}] * 5}, "legs"),
        ({"format_code": "S"}, "format_code"),
        ({"number_of_legs": 2}, "number_of_legs"),
        ({"passenger_name": "X" * 21}, "passenger_name"),
        ({"passenger_name": "ÉMILE/TEST"}, "passenger_name"),
        ({"version_number": 0}, "version_number"),
        ({"security_data": "S" * 256}, "security_data"),
        ({"security_data_type": "12"}, "security_data_type"),
        ({"date_of_issue_of_boarding_pass": "not a date"}, "date_of_issue"),
    ],
)
def test_encoder_rejects_what_does_not_fit(change: dict[str, Any], message: str) -> None:
    fields = random_bcbp_fields(random.Random(1), scan_date=date(2025, 1, 1), legs=1)
    with pytest.raises(ValueError, match=message):
        encode_bcbp({**fields, **change})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date_of_flight": "", "date_of_flight_julian": "12"}, "date_of_flight"),
        ({"date_of_flight": "2025-02-30"}, "date_of_flight"),
        ({"seat_number": "12345"}, "seat_number"),
        ({"airline_individual_use": "\n"}, "airline_individual_use"),
        ({"airline_individual_use": "A" * 250}, "item 6"),
    ],
)
def test_encoder_rejects_bad_legs(change: dict[str, Any], message: str) -> None:
    fields = random_bcbp_fields(random.Random(2), scan_date=date(2025, 1, 1), legs=1)
    fields["legs"] = [{**fields["legs"][0], **change}]
    with pytest.raises(ValueError, match=message):
        encode_bcbp(fields)


def test_encoder_accepts_dates_and_fills_gaps() -> None:
    leg: dict[str, Any] = {name: "" for name, _ in LEG_FIELDS}
    leg["date_of_flight"] = date(2025, 1, 5)
    leg["fast_track"] = "Y"
    text = encode_bcbp({"passenger_name": "SAMPLE/KIM", "legs": [leg]})
    # Absent repeated fields before the last present one are written blank.
    assert text.endswith(f"{4 + 2 + 42:02X}>800{42:02X}" + " " * 41 + "Y")
    assert text[44:47] == "005"
    result = parse_bcbp(text, scan_date=date(2025, 1, 1))
    assert result.valid
    assert result.fields["legs"][0]["fast_track"] == "Y"
    assert result.fields["legs"][0]["frequent_flyer_number"] == ""
