"""ICAO 9303 specimens and the real-world variants the MRZ parser must accept."""

from __future__ import annotations

import datetime

import pytest

from edge.documents.mrz import parse_mrz
from edge.documents.mrz_digits import check_digit
from edge.documents.mrz_gen import Variant, fra_id, td1, td2, td3
from edge.documents.result import Check, Issue, ParseResult

TODAY = datetime.date(2025, 6, 1)
P, F, U, NA = Check.PASSED, Check.FAILED, Check.UNDETERMINED, Check.NOT_APPLICABLE

# ICAO Doc 9303 specimens (Utopia, holder ERIKSSON ANNA MARIA): P4, P5, P6 and P7.
TD3_SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
)
TD1_SPECIMEN = (
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)
TD2_SPECIMEN = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
MRVA_SPECIMEN = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<"
)
MRVB_SPECIMEN = "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nL8988901C4XXX4009078F9612109<<<<<<<<"


def parse(text: str | bytes) -> ParseResult:
    return parse_mrz(text, today=TODAY)


def codes(issues: list[Issue]) -> list[str]:
    return [issue.code for issue in issues]


def test_td3_specimen() -> None:
    result = parse(TD3_SPECIMEN)
    assert result.valid
    assert result.format == "td3"
    assert result.fields == {
        "document_code": "P",
        "issuing_country": "UTO",
        "document_number": "L898902C3",
        "surname": "ERIKSSON",
        "given_names": "ANNA MARIA",
        "nationality": "UTO",
        "birth_date": "1974-08-12",
        "birth_date_raw": "740812",
        "sex": "F",
        "expiry_date": "2012-04-15",
        "expiry_date_raw": "120415",
        "personal_number": "ZE184226B",
    }
    assert result.checks == {
        "document_number": P,
        "birth_date": P,
        "expiry_date": P,
        "personal_number": P,
        "composite": P,
    }
    assert result.errors == []
    assert result.warnings == []
    assert result.corrections == []


def test_td3_specimen_check_digits() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"
    composite = "L898902C36" + "7408122" + "1204159ZE184226B<<<<<1"
    assert check_digit(composite) == "0"


def test_td1_specimen() -> None:
    result = parse(TD1_SPECIMEN)
    assert result.valid
    assert result.format == "td1"
    assert result.fields["document_number"] == "D23145890"
    assert result.fields["surname"] == "ERIKSSON"
    assert result.fields["given_names"] == "ANNA MARIA"
    assert result.fields["optional_data_1"] == ""
    assert result.fields["optional_data_2"] == ""
    assert result.fields["long_document_number"] is None
    assert result.checks["composite"] is P
    assert result.checks["personal_number"] is NA


def test_td2_specimen() -> None:
    result = parse(TD2_SPECIMEN)
    assert result.valid
    assert result.format == "td2"
    assert result.fields["document_number"] == "D23145890"
    assert result.fields["birth_date"] == "1974-08-12"
    assert result.fields["expiry_date"] == "2012-04-15"
    assert result.checks["composite"] is P


@pytest.mark.parametrize(("text", "fmt"), [(MRVA_SPECIMEN, "mrva"), (MRVB_SPECIMEN, "mrvb")])
def test_visa_specimens(text: str, fmt: str) -> None:
    result = parse(text)
    assert result.valid
    assert result.format == fmt
    assert result.fields["document_number"] == "L8988901C"
    assert result.fields["nationality"] == "XXX"
    assert result.fields["birth_date"] == "1940-09-07"
    assert result.fields["expiry_date"] == "1996-12-10"  # YY >= 70: 19YY
    assert result.checks["composite"] is NA  # visas have no composite check digit
    assert result.checks["personal_number"] is NA


def test_mrva_optional_data() -> None:
    assert parse(MRVA_SPECIMEN).fields["optional_data"] == "6ZE184226B"
    assert parse(MRVB_SPECIMEN).fields["optional_data"] == ""


def test_german_passport_filler_as_personal_number_check_digit() -> None:
    text = td3(
        surname="ZELKOVA",
        given_names="ILVO",
        document_number="C01X00T47",
        birth_date="640812",
        expiry_date="270101",
        sex="F",
        issuing_country="D",
        personal_cd_filler=True,
    )
    assert text.splitlines()[1][42] == "<"
    assert text.splitlines()[0][2:5] == "D<<"
    result = parse(text)
    assert result.valid
    assert result.fields["issuing_country"] == "D"
    assert result.fields["nationality"] == "D"
    assert result.fields["personal_number"] == ""
    assert result.checks["personal_number"] is P
    assert result.checks["composite"] is P


def test_filler_check_digit_needs_an_empty_personal_number() -> None:
    line1, line2 = td3(
        surname="ZELKOVA",
        document_number="C01X00T47",
        birth_date="640812",
        expiry_date="270101",
        personal_number="00000000000000",  # computes to 0, like a filler would
    ).splitlines()
    result = parse(f"{line1}\n{line2[:42]}<{line2[43:]}")
    assert not result.valid
    assert result.checks["personal_number"] is F
    assert ("check_digit", 2, 43) in [(e.code, e.line, e.column) for e in result.errors]


def _long_td1(number: str, variant: Variant) -> str:
    return td1(
        surname="ORBANEK",
        given_names="SELKA",
        document_number=number,
        birth_date="851130",
        expiry_date="310405",
        sex="M",
        issuing_country="BEL",
        optional_data_1="AB1",
        long_number_variant=variant,
    )


def test_long_td1_number_both_variants() -> None:
    number = "B12345678904"
    # The variants must differ for this number, or the test proves nothing.
    assert check_digit(number) != check_digit(number[:9] + "<" + number[9:])
    standard = parse(_long_td1(number, "standard"))
    assert standard.valid
    assert standard.fields["document_number"] == number
    assert standard.fields["long_document_number"] == "standard"
    assert standard.fields["optional_data_1"] == "AB1"
    assert standard.warnings == []
    variant = parse(_long_td1(number, "filler_included"))
    assert variant.valid
    assert variant.fields["document_number"] == number
    assert variant.fields["long_document_number"] == "filler_included"
    assert codes(variant.warnings) == ["long_number_filler_variant"]
    line1 = _long_td1(number, "standard").splitlines()[0]
    assert line1[14] == "<"  # position 15 holds the filler, the digit follows the overflow
    assert line1[15:19] == "904" + check_digit(number)


def test_long_td1_number_ten_characters() -> None:
    text = _long_td1("PT12345678", "standard")
    assert text.splitlines()[0][15:18] == "8" + check_digit("PT12345678") + "<"
    result = parse(text)
    assert result.valid
    assert result.fields["document_number"] == "PT12345678"


def test_long_td1_number_wrong_digit() -> None:
    line1, line2, line3 = _long_td1("B12345678904", "standard").splitlines()
    digit = line1[18]
    wrong = str((int(digit) + 1) % 10)
    other = check_digit("B12345678" + "<" + "904")
    if wrong == other:
        wrong = str((int(digit) + 2) % 10)
    result = parse(f"{line1[:18]}{wrong}{line1[19:]}\n{line2}\n{line3}")
    assert not result.valid
    assert result.checks["document_number"] is F
    assert ("check_digit", 1, 19) in [(e.code, e.line, e.column) for e in result.errors]


def test_long_td1_filler_without_number() -> None:
    line1, line2, line3 = TD1_SPECIMEN.splitlines()
    result = parse(f"{line1[:14]}<{line1[15:]}\n{line2}\n{line3}")
    assert not result.valid
    assert "document_number_format" in codes(result.errors)


def test_long_td2_number() -> None:
    number = "PRT1234567"
    variants: tuple[Variant, ...] = ("standard", "filler_included")
    for variant in variants:
        text = td2(
            surname="SETTANI",
            given_names="NOOR",
            document_number=number,
            birth_date="900101",
            expiry_date="300101",
            issuing_country="PRT",
            long_number_variant=variant,
        )
        result = parse(text)
        assert result.valid, result.errors
        assert result.fields["document_number"] == number
        # The two variants must be told apart by their check digits for this number.
        assert check_digit(number) != check_digit(number[:9] + "<" + number[9:])
        assert result.fields["long_document_number"] == variant


def test_french_national_id() -> None:
    text = fra_id(
        surname="VANTERHOLM",
        given_names=["ODALIE", "MARET"],
        document_number="880692310285",
        birth_date="800112",
        sex="F",
        optional_data="750123",
    )
    assert text.startswith("IDFRA")
    result = parse(text)
    assert result.valid
    assert result.format == "fra_id"
    assert result.fields["surname"] == "VANTERHOLM"
    assert result.fields["given_names"] == "ODALIE, MARET"
    assert result.fields["document_number"] == "880692310285"
    assert result.fields["birth_date"] == "1980-01-12"
    assert result.fields["expiry_date"] is None
    assert result.fields["nationality"] is None
    assert result.fields["optional_data"] == "750123"
    assert result.checks == {
        "document_number": P,
        "birth_date": P,
        "expiry_date": NA,
        "personal_number": NA,
        "composite": P,
    }


def test_french_id_composite_covers_line_one() -> None:
    line1, line2 = fra_id(
        surname="VANTERHOLM", document_number="880692310285", birth_date="800112"
    ).splitlines()
    result = parse(f"{line1[:31]}9{line1[32:]}\n{line2}")
    assert result.checks["composite"] is F


def test_single_name_holder() -> None:
    text = td3(
        surname="KESSADINE", document_number="X1234567", birth_date="010203", expiry_date="300101"
    )
    assert "<<" not in text.splitlines()[0][5:].rstrip("<")
    result = parse(text)
    assert result.valid
    assert result.fields["surname"] == "KESSADINE"
    assert result.fields["given_names"] == ""
    assert result.fields["document_number"] == "X1234567"


@pytest.mark.parametrize(
    ("raw", "iso"), [("74<<<<", "1974"), ("7408<<", "1974-08"), ("<<<<<<", None)]
)
def test_partial_birth_date(raw: str, iso: str | None) -> None:
    text = td3(surname="HOLVIRA", document_number="Q7788", birth_date=raw, expiry_date="300101")
    result = parse(text)
    assert result.valid
    assert result.fields["birth_date"] == iso
    assert result.fields["birth_date_raw"] == raw
    assert result.checks["birth_date"] is U
    assert codes(result.warnings) == ["birth_date_partial"]


def test_partial_birth_date_bad_check_digit() -> None:
    line1, line2 = td3(
        surname="HOLVIRA", document_number="Q7788", birth_date="74<<<<", expiry_date="300101"
    ).splitlines()
    digit = str((int(line2[19]) + 1) % 10)
    result = parse(f"{line1}\n{line2[:19]}{digit}{line2[20:]}")
    assert not result.valid
    assert result.checks["birth_date"] is F


def test_sex_x_is_a_warning() -> None:
    text = td3(
        surname="DUMARECQ", document_number="A1", birth_date="900101", expiry_date="300101", sex="X"
    )
    result = parse(text)
    assert result.valid
    assert result.fields["sex"] == "X"
    assert [(w.code, w.line, w.column) for w in result.warnings] == [("sex_x", 2, 21)]


def test_expiry_2069_and_1970() -> None:
    late = td3(surname="PRUVOST", document_number="A1", birth_date="900101", expiry_date="690101")
    assert parse(late).fields["expiry_date"] == "2069-01-01"
    early = td3(surname="PRUVOST", document_number="A1", birth_date="500101", expiry_date="700101")
    assert parse(early).fields["expiry_date"] == "1970-01-01"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("250531", "2025-05-31"),  # this year, before today
        ("250601", "2025-06-01"),  # today
        ("250602", "1925-06-02"),  # later this year: the previous century
        ("991231", "1999-12-31"),
        ("000229", "2000-02-29"),  # 2000 is a leap year
    ],
)
def test_birth_century_is_the_most_recent_not_in_the_future(raw: str, iso: str) -> None:
    text = td3(surname="PRUVOST", document_number="A1", birth_date=raw, expiry_date="300101")
    result = parse(text)
    assert result.valid
    assert result.fields["birth_date"] == iso


def test_birth_century_follows_today() -> None:
    text = td3(surname="PRUVOST", document_number="A1", birth_date="300101", expiry_date="350101")
    assert parse_mrz(text, today=datetime.date(2031, 1, 1)).fields["birth_date"] == "2030-01-01"
    assert parse_mrz(text, today=datetime.date(2029, 1, 1)).fields["birth_date"] == "1930-01-01"


def test_today_defaults_to_the_current_date() -> None:
    # Next year's YY can only be a birth in the previous century when today is the real today.
    next_year = datetime.datetime.now(datetime.UTC).year + 1
    text = td3(
        surname="PRUVOST",
        document_number="A1",
        birth_date=f"{next_year % 100:02d}0101",
        expiry_date="350101",
    )
    result = parse_mrz(text)
    assert result.valid
    assert result.fields["birth_date"] == f"{next_year - 100}-01-01"


def test_unknown_country_is_a_warning_with_the_raw_code_kept() -> None:
    text = td1(
        surname="ARDOVINE",
        document_number="SI1234",
        birth_date="900101",
        expiry_date="300101",
        issuing_country="SI",
        nationality="QQQ",
    )
    result = parse(text)
    assert result.valid
    assert result.fields["issuing_country"] == "SI"
    assert result.fields["nationality"] == "QQQ"
    assert [(w.code, w.line, w.column) for w in result.warnings] == [
        ("country_unknown", 1, 3),
        ("country_unknown", 2, 16),
    ]


@pytest.mark.parametrize("code", ["XXA", "XXB", "XXC", "XPO", "UNO", "EUE", "GBD", "RKS", "DEU"])
def test_special_country_codes_are_known(code: str) -> None:
    text = td3(
        surname="PRUVOST", document_number="A1", birth_date="900101", expiry_date="300101"
    ).replace("UTO", code)
    line1, line2 = text.splitlines()
    result = parse(f"{line1}\n{line2}")
    assert result.fields["issuing_country"] == code
    assert result.fields["nationality"] == code
    assert "country_unknown" not in codes(result.warnings)


def test_truncated_name_is_flagged() -> None:
    text = td1(
        surname="PAPANDRIKOULOSSIDES",
        given_names="ANNA ILVO",
        document_number="T1",
        birth_date="900101",
        expiry_date="300101",
    )
    assert text.splitlines()[2][-1] == "O"
    result = parse(text)
    assert result.valid
    assert [(w.code, w.line, w.column) for w in result.warnings] == [("name_truncated", 3, 30)]


def test_compound_names() -> None:
    text = td3(
        surname="MOR TALVEN",
        given_names="JOVAN BRAM",
        document_number="A1",
        birth_date="900101",
        expiry_date="300101",
    )
    result = parse(text)
    assert result.fields["surname"] == "MOR TALVEN"
    assert result.fields["given_names"] == "JOVAN BRAM"


@pytest.mark.parametrize(
    "layout", ["{0}\r\n{1}\r\n", "  {0}  \n\t{1}\n\n", "{0}\r{1}", "\n\n{0}\n \n{1}"]
)
def test_whitespace_around_lines(layout: str) -> None:
    line1, line2 = TD3_SPECIMEN.splitlines()
    assert parse(layout.format(line1, line2)) == parse(TD3_SPECIMEN)


def test_bytes_input() -> None:
    assert parse(TD3_SPECIMEN.encode("ascii")) == parse(TD3_SPECIMEN)
    serial = bytearray(TD1_SPECIMEN.encode("ascii"))
    assert parse_mrz(serial, today=TODAY) == parse(TD1_SPECIMEN)  # type: ignore[arg-type]  # bytes-like is accepted too


def test_every_result_lists_the_five_checks() -> None:
    for text in (TD1_SPECIMEN, TD2_SPECIMEN, TD3_SPECIMEN, MRVA_SPECIMEN, MRVB_SPECIMEN):
        assert set(parse(text).checks) == {
            "document_number",
            "birth_date",
            "expiry_date",
            "personal_number",
            "composite",
        }
