"""OCR repair: only what check digits prove, reported as corrections; never a guess."""

from __future__ import annotations

import datetime

from edge.documents.mrz import parse_mrz
from edge.documents.mrz_digits import check_digit
from edge.documents.mrz_gen import fra_id, td1, td3
from edge.documents.result import Check, Correction, ParseResult

TODAY = datetime.date(2025, 6, 1)
LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
SPECIMEN = f"{LINE1}\n{LINE2}"


def ocr(text: str) -> ParseResult:
    return parse_mrz(text, ocr=True, today=TODAY)


def replace(line: str, column: int, char: str) -> str:
    """`line` with the character at 1-based `column` replaced."""
    return line[: column - 1] + char + line[column:]


def warnings(result: ParseResult) -> list[tuple[str, int | None, int | None]]:
    return [(w.code, w.line, w.column) for w in result.warnings]


def test_letter_o_for_zero_in_a_date_is_repaired() -> None:
    misread = f"{LINE1}\n{replace(LINE2, 16, 'O')}"  # 740812 read as 74O812
    assert not parse_mrz(misread, today=TODAY).valid
    result = ocr(misread)
    assert result.valid
    assert result.corrections == [Correction("birth_date", 2, 16, "O", "0")]
    assert result.fields["birth_date"] == "1974-08-12"
    assert result.fields == ocr(SPECIMEN).fields


def test_repair_is_off_by_default() -> None:
    result = parse_mrz(f"{LINE1}\n{replace(LINE2, 16, 'O')}", today=TODAY)
    assert not result.valid
    assert result.corrections == []


def test_i_for_one_in_a_check_digit_is_repaired() -> None:
    line2 = replace(LINE2, 43, "I")  # personal number check digit 1 read as I
    result = ocr(f"{LINE1}\n{line2}")
    assert result.valid
    assert result.corrections == [Correction("personal_number", 2, 43, "I", "1")]


def test_g_for_six_is_never_repaired() -> None:
    # G (16) and 6 have the same value mod 10: no check digit tells them apart.
    text = td3(surname="ZELKOVA", document_number="A1", birth_date="760612", expiry_date="300101")
    line1, line2 = text.splitlines()
    misread = f"{line1}\n{replace(line2, 15, 'G')}"
    result = ocr(misread)
    assert not result.valid
    assert result.corrections == []
    assert result.checks["birth_date"] is Check.PASSED  # arithmetic cannot see it
    assert [e.code for e in result.errors] == ["date_invalid"]
    assert ("ocr_suspect", 2, 15) in warnings(result)


def test_two_fitting_repairs_means_no_repair() -> None:
    # Real number has a letter O second and a zero fifth (same weight); OCR reads the O as 0.
    # Turning either zero into O satisfies the number's digit and the composite alike.
    number = "AO1203456"
    line1, line2 = td3(
        surname="ZELKOVA", document_number=number, birth_date="760612", expiry_date="300415"
    ).splitlines()
    misread = f"{line1}\n{replace(line2, 2, '0')}"
    result = ocr(misread)
    assert not result.valid
    assert result.corrections == []
    assert ("ocr_ambiguous", None, None) in warnings(result)
    assert result.fields["document_number"] == "A01203456"


def test_genuine_letter_o_in_a_document_number_is_kept() -> None:
    number = "A08O26475"  # Turkish-style number with a real letter O
    line1, line2 = td3(
        surname="ZELKOVA", document_number=number, birth_date="760612", expiry_date="300415"
    ).splitlines()
    clean = ocr(f"{line1}\n{line2}")
    assert clean.valid
    assert clean.corrections == []
    assert clean.fields["document_number"] == number
    # An unrelated misread in the expiry date is repaired; the O stays.
    result = ocr(f"{line1}\n{replace(line2, 24, 'O')}")
    assert result.valid
    assert result.corrections == [Correction("expiry_date", 2, 24, "O", "0")]
    assert result.fields["document_number"] == number


def test_misread_in_a_document_number_is_repaired_when_unique() -> None:
    misread = f"{LINE1}\n{replace(LINE2, 6, 'O')}"  # L898902C3 read as L8989O2C3
    result = ocr(misread)
    assert result.valid
    assert result.corrections == [Correction("document_number", 2, 6, "O", "0")]


def test_k_in_a_filler_run_is_only_a_warning() -> None:
    text = f"{replace(LINE1, 31, 'K')}\n{LINE2}"
    result = ocr(text)
    assert result.valid  # names are not covered by any check digit: nothing to prove
    assert result.corrections == []
    assert warnings(result) == [("ocr_suspect", 1, 31)]
    assert parse_mrz(text, today=TODAY).warnings == []


def test_digit_in_a_name_is_not_repaired() -> None:
    result = ocr(f"{replace(LINE1, 9, '5')}\n{LINE2}")
    assert not result.valid
    assert [(e.code, e.line, e.column) for e in result.errors] == [("name_charset", 1, 9)]
    assert result.corrections == []
    assert ("ocr_suspect", 1, 9) in warnings(result)


def test_composite_proves_a_repair_in_the_french_surname() -> None:
    line1, line2 = fra_id(
        surname="MOROVAN", given_names=["ANNA"], document_number="880692310285", birth_date="800112"
    ).splitlines()
    result = ocr(f"{line1.replace('MOROVAN', 'MOR0VAN')}\n{line2}")
    assert result.valid
    assert result.corrections == [Correction("surname", 1, 9, "0", "O")]
    assert result.fields["surname"] == "MOROVAN"


def test_composite_proves_a_repair_in_td1_optional_data() -> None:
    line1, line2, line3 = td1(
        surname="QUESTRAL",
        document_number="A1234567",
        birth_date="900101",
        expiry_date="300101",
        optional_data_2="Z9",
    ).splitlines()
    misread = f"{line1}\n{replace(line2, 19, '2')}\n{line3}"  # the Z of the optional data
    assert parse_mrz(misread, today=TODAY).checks["composite"] is Check.FAILED
    result = ocr(misread)
    assert result.valid
    assert result.corrections == [Correction("optional_data_2", 2, 19, "2", "Z")]
    assert result.fields["optional_data_2"] == "Z9"


def test_misread_check_digit_without_proof_stays_an_error() -> None:
    # A wrong digit in place of a right one is no OCR confusion: nothing to repair.
    digit = str((int(LINE2[9]) + 3) % 10)
    result = ocr(f"{LINE1}\n{replace(LINE2, 10, digit)}")
    assert not result.valid
    assert result.checks["document_number"] is Check.FAILED
    assert result.corrections == []


def test_repairs_need_a_failing_check() -> None:
    assert check_digit("L898902C3") == LINE2[9]
    result = ocr(SPECIMEN)
    assert result.valid
    assert result.corrections == []
    assert result.warnings == []
