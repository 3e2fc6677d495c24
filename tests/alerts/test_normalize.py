"""Normalisation: what the MRZ parser reads and what headquarters types meet on the same key."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from edge.alerts.build import entries_of
from edge.alerts.normalize import (
    Keyer,
    birth,
    country,
    digest,
    document_class,
    document_key,
    document_number,
    name_form,
    person_key,
    person_keys,
    record_keys,
)
from edge.documents import mrz_gen
from edge.documents.bcbp import parse_bcbp
from edge.documents.mrz import parse_mrz

TODAY = dt.date(2025, 6, 1)


def keys_of(mrz: str) -> tuple[str | None, str | None]:
    parsed = parse_mrz(mrz, today=TODAY)
    keys = record_keys(parsed.fields)
    return keys.document, keys.person


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("C01X00T47", "C01X00T47"),
        ("c01x-00t47", "C01X00T47"),
        ("C01 X00 T47", "C01X00T47"),
        ("C01X00T47<<", "C01X00T47"),
        ("AB-1234567890", "AB1234567890"),
    ],
)
def test_document_numbers_lose_fillers_spaces_and_hyphens(given: str, expected: str) -> None:
    assert document_number(given) == expected


def test_countries_and_document_classes() -> None:
    assert country("D<<") == "D"
    assert country("DEU") == "D"  # German documents write D in the MRZ
    assert country(" uto ") == "UTO"
    assert [document_class(c) for c in ("P", "PN", "P<", "passport")] == ["P"] * 4
    assert [document_class(c) for c in ("I", "ID", "AC", "C<", "A", "id_card")] == ["I"] * 6
    assert [document_class(c) for c in ("V", "VB", "visa")] == ["V"] * 3


@pytest.mark.parametrize(
    ("clear", "recommended", "plain"),
    [
        ("Müller", "MUELLER", "MULLER"),
        ("Åsa-Marie", "AASAMARIE", "ASAMARIE"),
        ("Øster Ærø", "OESTERAEROE", "OESTERAEROE"),
        ("O'Neill", "ONEILL", "ONEILL"),
        ("Groß", "GROSS", "GROSS"),
        ("José Ñúñez", "JOSENUNEZ", "JOSENUNEZ"),
        ("Łukasz Żółć", "LUKASZZOLC", "LUKASZZOLC"),
        ("van der BERG", "VANDERBERG", "VANDERBERG"),
        ("MUELLER<<HANS", "MUELLERHANS", "MUELLERHANS"),
    ],
)
def test_names_are_transliterated_as_icao_writes_them(
    clear: str, recommended: str, plain: str
) -> None:
    assert name_form(clear) == recommended
    assert name_form(clear, plain=True) == plain


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("1985-03-12", "850312"),
        ("1985-03", "8503<<"),
        ("1985", "85<<<<"),
        ("1985-00-00", "85<<<<"),
        ("1985-XX-12", "85<<12"),
        ("850312", "850312"),
        ("85<<<<", "85<<<<"),
        ("12/03/1985", None),
        ("", None),
    ],
)
def test_birth_dates_are_compared_as_the_mrz_writes_them(given: str, expected: str | None) -> None:
    assert birth(given) == expected


def test_a_td3_passport_meets_headquarters_clear_data() -> None:
    mrz = mrz_gen.td3(
        surname="MUELLER",
        given_names="HANS PETER",
        document_number="C01X00T47",
        birth_date="850312",
        expiry_date="330101",
        issuing_country="D",
    )
    document, person = keys_of(mrz)
    assert document == document_key("DEU", "passport", "C01X-00T47")
    assert person in person_keys("Müller", "Hans-Peter", "1985-03-12")
    assert person not in person_keys("Müller", "Hans", "1985-03-12")


def test_the_plain_transliteration_matches_too() -> None:
    mrz = mrz_gen.td3(
        surname="MULLER",
        given_names="HANS PETER",
        document_number="C01X00T47",
        birth_date="850312",
        expiry_date="330101",
        issuing_country="D",
    )
    _, person = keys_of(mrz)
    assert person in person_keys("Müller", "Hans Peter", "1985-03-12")


@pytest.mark.parametrize("variant", ["standard", "filler_included"])
def test_td1_long_document_numbers_are_whole(variant: mrz_gen.Variant) -> None:
    mrz = mrz_gen.td1(
        surname="ERIKSSON",
        given_names="ANNA",
        document_number="D23145890123",
        birth_date="740812",
        expiry_date="320415",
        issuing_country="UTO",
        long_number_variant=variant,
    )
    document, _ = keys_of(mrz)
    assert document == document_key("UTO", "ID", "D23145890123")
    assert document != document_key("UTO", "ID", "D23145890")


def test_partial_birth_dates_match_the_same_unknowns() -> None:
    mrz = mrz_gen.td3(
        surname="NOOR",
        given_names="AMAL",
        document_number="K1234567",
        birth_date="85<<<<",
        expiry_date="330101",
        issuing_country="UTO",
    )
    _, person = keys_of(mrz)
    assert person is not None
    assert person == person_key("Noor", "Amal", "1985")
    assert person != person_key("Noor", "Amal", "1985-01-01")


def test_a_boarding_pass_has_a_name_but_no_birth_date() -> None:
    parsed = parse_bcbp(
        "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 226F001A0025 100", scan_date=TODAY
    )
    keys = record_keys(parsed.fields)
    assert keys.document is None and keys.person is None
    assert keys.person_reason == "no_birth_date"
    assert keys.document_reason == "no_document_number"


def test_fields_without_identifiers_give_no_key() -> None:
    keys = record_keys({"text": "4006381333931"})
    assert (keys.document, keys.person, keys.person_reason) == (None, None, "no_name")
    assert document_key("UTO", "P", "<<<") is None
    assert person_key("", "ANNA", "740812") is None


def test_the_keyer_computes_the_same_digests_as_hmac() -> None:
    for hmac_key in (bytes(32), bytes(range(32)), b"k" * 100):
        keyer = Keyer(hmac_key)
        for key in ("D\x1fUTO\x1fP\x1fL0S70001", "N\x1fNOOR\x1fAMAL\x1f85<<<<", ""):
            assert keyer.digest(key) == digest(hmac_key, key)


def test_a_document_row_without_a_type_matches_every_kind_of_document() -> None:
    hmac_key = bytes(range(32))
    row = {"category": "lost_stolen", "ref": "R1", "issuing_country": "UTO"}
    untyped = entries_of([{**row, "document_number": "X99887766"}], hmac_key)
    typed = entries_of([{**row, "document_number": "X99887766", "document_type": "P"}], hmac_key)
    assert len(untyped) == 3 and len(typed) == 1
    listed = {e.digest for e in untyped}
    passport = mrz_gen.td3(
        surname="NILSSON", document_number="X99887766", birth_date="660101", expiry_date="300101"
    )
    card = mrz_gen.td1(
        surname="NILSSON", document_number="X99887766", birth_date="660101", expiry_date="300101"
    )
    other_state = mrz_gen.td1(
        surname="NILSSON",
        document_number="X99887766",
        birth_date="660101",
        expiry_date="300101",
        issuing_country="D",
    )
    for mrz, on_list in ((passport, True), (card, True), (other_state, False)):
        document, _ = keys_of(mrz)
        assert document is not None
        assert (digest(hmac_key, document) in listed) is on_list
    assert {e.digest for e in typed} < listed


@pytest.mark.parametrize("digits", ["\u0661\u0669\u0667\u0664", "\uff11\uff19\uff17\uff14"])
def test_only_ascii_digits_make_a_birth_date(digits: str) -> None:
    assert birth(f"{digits}-08-12") is None
    assert birth("1974-\u0660\u0668") is None
    assert birth("1974-08-12") == "740812"


@pytest.mark.parametrize("fmt", ["td1", "td2", "td3", "mrva", "mrvb"])
def test_the_capture_path_keys_are_the_reference_keys(fmt: mrz_gen.Format) -> None:
    rng = random.Random(9303)
    for _ in range(200):
        fields = parse_mrz(mrz_gen.random_mrz(rng, fmt)).fields
        keys = record_keys(fields)
        assert keys.document == document_key(
            fields["issuing_country"], fields["document_code"], fields["document_number"]
        )
        assert keys.person == person_key(
            fields["surname"], fields["given_names"], fields["birth_date_raw"]
        )


def test_a_digit_in_the_issuing_state_is_dropped_on_both_paths() -> None:
    fields = {"issuing_country": "UT0", "document_code": "P", "document_number": "L898902C3"}
    assert record_keys(fields).document == document_key("UT0", "P", "L898902C3")
    assert record_keys(fields).document == document_key("UT", "P", "L898902C3")
