"""What the MRZ parser must reject: as a result with typed, positioned errors, never by raising."""

from __future__ import annotations

import datetime

import pytest

from edge.documents.mrz import parse_mrz
from edge.documents.mrz_gen import td1, td3
from edge.documents.result import Check, ParseResult
from edge.errors import DocumentError

TODAY = datetime.date(2025, 6, 1)
LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"


def parse(text: str | bytes) -> ParseResult:
    return parse_mrz(text, today=TODAY)


def where(result: ParseResult) -> list[tuple[str, int | None, int | None]]:
    return [(e.code, e.line, e.column) for e in result.errors]


def replace(line: str, column: int, char: str) -> str:
    """`line` with the character at 1-based `column` replaced."""
    return line[: column - 1] + char + line[column:]


def test_lower_case_is_rejected() -> None:
    result = parse(f"{LINE1.lower()}\n{LINE2}")
    assert not result.valid
    assert result.format == "unknown"
    assert where(result) == [("charset", 1, 1)]
    assert result.fields == {}


def test_guillemet_is_rejected() -> None:
    result = parse(f"{LINE1.replace('<', '«')}\n{LINE2}")
    assert not result.valid
    assert where(result) == [("charset", 1, 2)]


def test_space_inside_a_line_is_rejected() -> None:
    result = parse(f"{replace(LINE1, 20, ' ')}\n{LINE2}")
    assert not result.valid
    assert where(result) == [("charset", 1, 20)]


def test_undecodable_bytes_are_a_charset_error() -> None:
    result = parse(LINE1.encode() + b"\n" + LINE2[:10].encode() + b"\xff" + LINE2[11:].encode())
    assert not result.valid
    assert where(result) == [("charset", 2, 11)]


@pytest.mark.parametrize("value", [None, 42, 3.5, ["P<UTO"], object()])
def test_input_that_is_not_text_raises(value: object) -> None:
    with pytest.raises(DocumentError):
        parse_mrz(value)  # type: ignore[arg-type]  # deliberately wrong type


def test_sex_q_is_rejected() -> None:
    result = parse(f"{LINE1}\n{replace(LINE2, 21, 'Q')}")
    assert not result.valid
    assert where(result) == [("sex_invalid", 2, 21)]


def test_digits_in_names_are_rejected() -> None:
    result = parse(f"{replace(LINE1, 9, '5')}\n{LINE2}")
    assert not result.valid
    assert where(result) == [("name_charset", 1, 9)]
    assert result.format == "td3"


def test_digit_in_td1_name_line() -> None:
    line1, line2, line3 = td1(
        surname="QUESTRAL", document_number="A1", birth_date="900101", expiry_date="300101"
    ).splitlines()
    result = parse(f"{line1}\n{line2}\n{replace(line3, 4, '0')}")
    assert where(result) == [("name_charset", 3, 4)]


def test_wrong_line_length_is_never_padded() -> None:
    result = parse(f"{LINE1}\n{LINE2[:-1]}")
    assert not result.valid
    assert result.format == "unknown"
    assert where(result) == [("line_length", 2, None)]


def test_mixed_line_lengths_are_rejected() -> None:
    result = parse(f"{LINE1}\n{LINE2[:36]}")
    assert not result.valid
    assert [e.code for e in result.errors] == ["line_length"]


def test_td1_with_a_short_line() -> None:
    lines = td1(
        surname="QUESTRAL", document_number="A1", birth_date="900101", expiry_date="300101"
    ).splitlines()
    result = parse("\n".join([lines[0], lines[1][:29], lines[2]]))
    assert where(result) == [("line_length", 2, None)]


@pytest.mark.parametrize("text", ["", "   \n  ", LINE1, f"{LINE1}\n{LINE2}\n{LINE2}\n{LINE2}"])
def test_wrong_line_count(text: str) -> None:
    result = parse(text)
    assert not result.valid
    assert [e.code for e in result.errors] == ["line_count"]


def test_lines_joined_without_a_break_are_not_split() -> None:
    result = parse(LINE1 + LINE2)
    assert [e.code for e in result.errors] == ["line_count"]


def test_document_code_i_on_a_td3_layout() -> None:
    result = parse(f"I{LINE1[1:]}\n{LINE2}")
    assert not result.valid
    assert result.format == "td3"
    assert where(result) == [("document_code", 1, 1)]


@pytest.mark.parametrize("code", ["AI", "IV", "P<", "V<"])
def test_document_codes_not_allowed_on_td1(code: str) -> None:
    line1, line2, line3 = td1(
        surname="QUESTRAL", document_number="A1", birth_date="900101", expiry_date="300101"
    ).splitlines()
    result = parse(f"{code}{line1[2:]}\n{line2}\n{line3}")
    assert "document_code" in [e.code for e in result.errors]


@pytest.mark.parametrize(
    ("birth", "expiry"),
    [("741312", "300101"), ("740230", "300101"), ("740100", "300101"), ("900101", "270229")],
)
def test_invalid_dates_are_rejected(birth: str, expiry: str) -> None:
    result = parse(
        td3(surname="QUESTRAL", document_number="A1", birth_date=birth, expiry_date=expiry)
    )
    assert not result.valid
    assert "date_invalid" in [e.code for e in result.errors]
    # The check digits were computed over the invalid dates and still match.
    assert result.checks["birth_date"] is Check.PASSED
    assert result.checks["expiry_date"] is Check.PASSED


def test_leap_day_in_a_leap_year_is_valid() -> None:
    result = parse(
        td3(surname="QUESTRAL", document_number="A1", birth_date="960229", expiry_date="280229")
    )
    assert result.valid
    assert result.fields["birth_date"] == "1996-02-29"
    assert result.fields["expiry_date"] == "2028-02-29"


@pytest.mark.parametrize(("letter", "check"), [("A", Check.PASSED), ("B", Check.FAILED)])
def test_letter_in_an_expiry_date(letter: str, check: Check) -> None:
    # "A" (10) has the value of the "0" it replaces mod 10: only the date syntax catches it.
    result = parse(f"{LINE1}\n{replace(LINE2, 24, letter)}")
    assert not result.valid
    assert ("date_invalid", 2, 22) in where(result)
    assert result.checks["expiry_date"] is check


@pytest.mark.parametrize(
    ("column", "check"),
    [
        (10, "document_number"),
        (20, "birth_date"),
        (28, "expiry_date"),
        (43, "personal_number"),
        (44, "composite"),
    ],
)
def test_check_digit_failures_are_positioned(column: int, check: str) -> None:
    digit = str((int(LINE2[column - 1]) + 5) % 10)
    result = parse(f"{LINE1}\n{replace(LINE2, column, digit)}")
    assert not result.valid
    assert result.checks[check] is Check.FAILED
    assert ("check_digit", 2, column) in where(result)


def test_letter_as_check_digit_is_a_failure() -> None:
    # "A" is worth 10, which is 0 mod 10 like a right digit would be: still not a digit.
    line2 = "L898902C3AUTO7408122F1204159ZE184226B<<<<<10"
    result = parse(f"{LINE1}\n{line2}")
    assert result.checks["document_number"] is Check.FAILED


def test_field_error_in_document_number() -> None:
    result = parse(f"{LINE1}\n{replace(LINE2, 3, '7')}")
    assert not result.valid
    assert result.checks["document_number"] is Check.FAILED
    assert result.checks["composite"] is Check.FAILED
    assert result.fields["document_number"] == "L878902C3"


def test_country_code_with_a_digit_is_invalid() -> None:
    result = parse(f"{LINE1[:4]}0{LINE1[5:]}\n{LINE2}")
    assert not result.valid
    assert where(result) == [("country_invalid", 1, 3)]
    assert result.fields["issuing_country"] == "UT0"


def test_messages_never_carry_the_document_data() -> None:
    broken = f"{replace(LINE1, 9, '5')}\n{replace(replace(LINE2, 10, '0'), 21, 'Q')}"
    result = parse(broken)
    assert len(result.errors) >= 3
    for issue in result.errors + result.warnings:
        for value in ("ERIK", "SSON", "ANNA", "MARIA", "L898902", "740812", "120415", "ZE184"):
            assert value not in issue.message
