"""The MRZ generator builds valid documents of every format, and parsing gives the fields back."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.documents.countries import KNOWN_CODES
from edge.documents.mrz import parse_mrz
from edge.documents.mrz_digits import check_digit
from edge.documents.mrz_gen import FORMATS, Format, fra_id, mrva, mrvb, random_mrz, td1, td2, td3
from edge.documents.mrz_layouts import LAYOUTS

TODAY = datetime.date(2025, 6, 1)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = LETTERS + "0123456789"

words = st.text(LETTERS, min_size=1, max_size=8)
codes = st.sampled_from(sorted(KNOWN_CODES))
sexes = st.sampled_from("MF<")
# Within a century before TODAY, so that the inferred century gives the same date back.
births = st.dates(datetime.date(1925, 6, 2), TODAY)
expiries = st.dates(datetime.date(1970, 1, 1), datetime.date(2069, 12, 31))


def numbers(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(ALNUM, min_size=low, max_size=high).filter(lambda n: n[0] != "<")


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_mrz_is_valid(fmt: Format) -> None:
    rng = random.Random(fmt)
    for _ in range(200):
        text = random_mrz(rng, fmt)
        layout = LAYOUTS[fmt]
        lines = text.split("\n")
        assert len(lines) == layout.height
        assert all(len(line) == layout.width for line in lines)
        result = parse_mrz(text)
        assert result.valid, result.errors
        assert result.format == fmt


def test_random_mrz_is_reproducible() -> None:
    first = [random_mrz(random.Random(7), fmt) for fmt in FORMATS]
    assert first == [random_mrz(random.Random(7), fmt) for fmt in FORMATS]


@settings(max_examples=150, deadline=None)
@given(
    surname=st.lists(words, min_size=1, max_size=2),
    given_names=st.lists(words, max_size=2),
    number=numbers(1, 9),
    birth=births,
    expiry=expiries,
    sex=sexes,
    state=codes,
    nationality=codes,
    personal=st.text(ALNUM, max_size=14),
)
def test_td3_round_trip(
    surname: list[str],
    given_names: list[str],
    number: str,
    birth: datetime.date,
    expiry: datetime.date,
    sex: str,
    state: str,
    nationality: str,
    personal: str,
) -> None:
    text = td3(
        surname=" ".join(surname),
        given_names=" ".join(given_names),
        document_number=number,
        birth_date=birth,
        expiry_date=expiry,
        sex=sex,
        issuing_country=state,
        nationality=nationality,
        personal_number=personal,
    )
    result = parse_mrz(text, today=TODAY)
    assert result.valid, result.errors
    assert result.fields == {
        "document_code": "P",
        "issuing_country": state,
        "document_number": number,
        "surname": " ".join(surname),
        "given_names": " ".join(given_names),
        "nationality": nationality,
        "birth_date": birth.isoformat(),
        "birth_date_raw": birth.strftime("%y%m%d"),
        "sex": sex,
        "expiry_date": expiry.isoformat(),
        "expiry_date_raw": expiry.strftime("%y%m%d"),
        "personal_number": personal,
    }


@settings(max_examples=150, deadline=None)
@given(
    fmt=st.sampled_from(["td1", "td2", "mrva", "mrvb"]),
    surname=words,
    given_name=words,
    number=numbers(1, 9),
    birth=births,
    expiry=expiries,
    sex=sexes,
    state=codes,
    optional=st.text(ALNUM, max_size=7),
)
def test_card_and_visa_round_trip(
    fmt: str,
    surname: str,
    given_name: str,
    number: str,
    birth: datetime.date,
    expiry: datetime.date,
    sex: str,
    state: str,
    optional: str,
) -> None:
    common: dict[str, Any] = {
        "surname": surname,
        "given_names": given_name,
        "document_number": number,
        "birth_date": birth,
        "expiry_date": expiry,
        "sex": sex,
        "issuing_country": state,
    }
    if fmt == "td1":
        text = td1(**common, optional_data_1=optional, optional_data_2=optional[:5])
    elif fmt == "td2":
        text = td2(**common, optional_data=optional)
    elif fmt == "mrva":
        text = mrva(**common, optional_data=optional)
    else:
        text = mrvb(**common, optional_data=optional)
    result = parse_mrz(text, today=TODAY)
    assert result.valid, result.errors
    assert result.format == fmt
    fields = result.fields
    assert (fields["surname"], fields["given_names"]) == (surname, given_name)
    assert fields["document_number"] == number
    assert fields["birth_date"] == birth.isoformat()
    assert fields["expiry_date"] == expiry.isoformat()
    assert fields["issuing_country"] == fields["nationality"] == state
    assert fields["sex"] == sex
    if fmt == "td1":
        assert (fields["optional_data_1"], fields["optional_data_2"]) == (optional, optional[:5])
    else:
        assert fields["optional_data"] == optional


@settings(max_examples=150, deadline=None)
@given(
    fmt=st.sampled_from(["td1", "td2"]),
    number=numbers(10, 14),
    variant=st.sampled_from(["standard", "filler_included"]),
    birth=births,
)
def test_long_number_round_trip(fmt: str, number: str, variant: str, birth: datetime.date) -> None:
    common: dict[str, Any] = {
        "surname": "NEVASKO",
        "document_number": number,
        "birth_date": birth,
        "expiry_date": "300101",
        "long_number_variant": variant,
    }
    text = td1(**common) if fmt == "td1" else td2(**common)
    result = parse_mrz(text, today=TODAY)
    assert result.valid, result.errors
    assert result.fields["document_number"] == number
    # When both variants give the same check digit the parser cannot tell them apart and
    # reports the standard one.
    ambiguous = check_digit(number) == check_digit(number[:9] + "<" + number[9:])
    assert result.fields["long_document_number"] == ("standard" if ambiguous else variant)
    optional_key = "optional_data_1" if fmt == "td1" else "optional_data"
    assert result.fields[optional_key] == ""


@settings(max_examples=100, deadline=None)
@given(
    surname=words,
    given_names=st.lists(words, max_size=2),
    number=st.text(ALNUM, min_size=12, max_size=12),
    birth=births,
    sex=st.sampled_from("MF"),
    office=st.text("0123456789", min_size=6, max_size=6),
)
def test_french_id_round_trip(
    surname: str,
    given_names: list[str],
    number: str,
    birth: datetime.date,
    sex: str,
    office: str,
) -> None:
    text = fra_id(
        surname=surname,
        given_names=given_names,
        document_number=number,
        birth_date=birth,
        sex=sex,
        optional_data=office,
    )
    result = parse_mrz(text, today=TODAY)
    assert result.valid, result.errors
    assert result.format == "fra_id"
    assert result.fields["surname"] == surname
    assert result.fields["given_names"] == ", ".join(given_names)[:14].rstrip(", ")
    assert result.fields["document_number"] == number
    assert result.fields["birth_date"] == birth.isoformat()
    assert result.fields["optional_data"] == office


def test_builders_refuse_what_an_mrz_cannot_carry() -> None:
    with pytest.raises(ValueError, match="cannot carry"):
        td3(surname="ZELKOVA", document_number="A/1", birth_date="900101", expiry_date="300101")
    dates: dict[str, Any] = {"birth_date": "900101", "expiry_date": "300101"}
    with pytest.raises(ValueError, match="longer than"):
        td3(surname="ZELKOVA", document_number="A1", personal_number="X" * 15, **dates)
    with pytest.raises(ValueError, match="at most 9 characters"):
        td3(surname="ZELKOVA", document_number="A123456789", **dates)
    with pytest.raises(ValueError, match="empty personal number"):
        td3(
            surname="ZELKOVA",
            document_number="A1",
            personal_number="X",
            personal_cd_filler=True,
            **dates,
        )
