"""The MRZ parser's fast path: its check-digit tables, and the same answers as the general path."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.documents import mrz, mrz_gen
from edge.documents.mrz import parse_mrz
from edge.documents.mrz_checks import reader
from edge.documents.mrz_dates import today_context
from edge.documents.mrz_digits import CHARSET, MOD10, PHASE_SHIFT, VALUES, WEIGHTS, pairs
from edge.documents.mrz_fast import FAST_PARSERS
from edge.documents.mrz_gen import FORMATS, Format
from edge.documents.mrz_layouts import LAYOUTS

TODAYS = (
    datetime.date(2025, 6, 1),
    datetime.date(2024, 2, 29),
    datetime.date(2000, 1, 1),
    datetime.date(2058, 8, 25),
)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(CHARSET, min_size=1, max_size=30), lead=st.integers(0, 5), phase=st.integers(0, 2)
)
def test_pair_sums_are_weighted_sums(text: str, lead: int, phase: int) -> None:
    # ICAO 9303 part 3 section 4.9, written out independently of the module under test.
    layout = LAYOUTS["td3"]
    mrz = ("<" * lead + text).ljust(layout.width * layout.height, "<")
    reads = pairs(lead, lead + len(text), phase)
    values = reader(layout, [(pos, code) for pos, code, _ in reads])(
        mrz.encode("ascii").translate(MOD10)
    )
    total = sum(table[value] for (_, _, table), value in zip(reads, values, strict=True))
    for lane, shift in enumerate(PHASE_SHIFT):
        expected = sum(VALUES[c] * WEIGHTS[(lane + phase + i) % 3] for i, c in enumerate(text))
        assert (total >> shift & 0x3FF) % 10 == expected % 10


def test_reader_skips_line_breaks() -> None:
    layout = LAYOUTS["td1"]
    text = "\r\n".join(c * layout.width for c in "123")
    values = reader(layout, [(28, "H"), (30, "B"), (60, "I")], "\r\n")
    assert values(text.encode("ascii").translate(MOD10)) == (0x0101, 2, 0x03030303)


def _name(rng: random.Random, edgy: bool) -> str:
    if not edgy:  # short enough never to fill its field
        return " ".join("".join(rng.choices(LETTERS, k=rng.randint(1, 5))) for _ in range(2))
    words = ["".join(rng.choices(LETTERS, k=rng.randint(1, 9))) for _ in range(rng.randint(1, 3))]
    return rng.choice((" ", "  ", " - ")).join(words)


def _date(rng: random.Random, edgy: bool) -> str:
    if not edgy:  # never Feb 29, never this year's YY
        return f"{rng.choice([y for y in range(100) if y != 25]):02d}0{rng.randint(1, 9)}28"
    yy = rng.choice((f"{rng.randrange(100):02d}", "25", "24", "00", "58"))
    mmdd = rng.choice(("0229", "0601", "0531", "0602", "1231", "0101", "1301", "0230", "0431"))
    return yy + (
        mmdd if rng.random() < 0.7 else f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    )


def _text(rng: random.Random, longest: int, edgy: bool = True) -> str:
    shortest = 0 if edgy else longest  # ordinary documents fill every optional field
    return "".join(rng.choices(LETTERS + "0123456789<", k=rng.randint(shortest, longest)))


def _document(rng: random.Random, fmt: Format, *, edgy: bool = True) -> str:
    """A document with the check digits right and (`edgy`) every field chosen to hit an edge."""
    common: dict[str, Any] = {
        "surname": _name(rng, edgy),
        "given_names": _name(rng, edgy) if rng.random() < 0.7 or not edgy else "",
        "document_number": rng.choice(LETTERS) + _text(rng, 8, edgy),
        "birth_date": _date(rng, edgy),
        "sex": rng.choice("MF<X" if edgy else "MF<"),
        "issuing_country": rng.choice(("UTO", "D", "ZZZ", "XXA", "Q") if edgy else ("UTO", "D")),
        "nationality": rng.choice(("UTO", "D", "GBR", "XYZ") if edgy else ("UTO", "D", "GBR")),
    }
    if fmt == "fra_id":
        return mrz_gen.fra_id(
            surname=common["surname"],
            given_names=common["given_names"].split(),
            document_number="".join(rng.choices(LETTERS + "0123456789", k=12)),
            birth_date=common["birth_date"],
            sex=rng.choice("MF"),
            optional_data=_text(rng, 6, edgy).ljust(6, "<"),
        )
    common["expiry_date"] = _date(rng, edgy)
    if fmt == "td3":
        personal = _text(rng, 14, edgy) if rng.random() < 0.6 or not edgy else ""
        return mrz_gen.td3(
            **common,
            document_code=rng.choice(("P", "PM", "PX")),
            personal_number=personal,
            personal_cd_filler=not personal and rng.random() < 0.5,
        )
    if fmt == "td1":
        return mrz_gen.td1(
            **common,
            document_code=rng.choice(("I", "AC", "AI", "C") if edgy else ("I", "AC", "C")),
            optional_data_1=rng.choice(LETTERS) + _text(rng, 14, edgy),
            optional_data_2=_text(rng, 11, edgy),
        )
    if fmt == "td2":
        return mrz_gen.td2(
            **common,
            document_code=rng.choice(("I", "AC", "ID") if edgy else ("I", "ID")),
            optional_data=_text(rng, 7, edgy),
        )
    build = mrz_gen.mrva if fmt == "mrva" else mrz_gen.mrvb
    return build(**common, optional_data=_text(rng, 8, edgy))


@settings(max_examples=300, deadline=None)
@given(fmt=st.sampled_from(FORMATS), seed=st.integers(0, 2**32 - 1))
def test_ordinary_documents_take_the_fast_path(fmt: Format, seed: int) -> None:
    # Every optional field filled, so that a wrong sum cannot hide as a fall-back.
    rng, day = random.Random(seed), datetime.date(2025, 6, 1)
    try:
        text = _document(rng, fmt, edgy=False)
    except ValueError:  # a name longer than its field
        return
    general = parse_mrz(text.replace("\n", "\r"), today=day)
    for newline in ("\n", "\r\n"):
        variant = text.replace("\n", newline)
        result = FAST_PARSERS[len(variant)][variant[0] == "V"](variant, today_context(day))
        assert result == general


@pytest.mark.parametrize("fmt", FORMATS)
def test_parse_mrz_takes_the_fast_path(fmt: Format) -> None:
    # The fast parsers agree with the general path, so only cutting the general path off shows
    # that `parse_mrz` reaches them (stripped text, both line breaks) and returns their answer.
    rng, day = random.Random(fmt), datetime.date(2025, 6, 1)
    texts: list[str] = []
    while len(texts) < 5:
        try:
            texts.append(_document(rng, fmt, edgy=False))
        except ValueError:  # a name longer than its field
            continue
    expected = [parse_mrz(text, today=day) for text in texts]
    assert all(result.valid and result.format == fmt for result in expected)

    def general_path(lines: list[str]) -> None:
        raise AssertionError("took the general path")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mrz, "_line_errors", general_path)
        for text, result in zip(texts, expected, strict=True):
            for newline in ("\n", "\r\n"):
                padded = " " + text.replace("\n", newline) + "\r\n"
                assert parse_mrz(padded, today=day) == result


@settings(max_examples=400, deadline=None)
@given(fmt=st.sampled_from(FORMATS), seed=st.integers(0, 2**32 - 1), today=st.sampled_from(TODAYS))
def test_fast_and_general_paths_agree_on_edge_cases(
    fmt: Format, seed: int, today: datetime.date
) -> None:
    # Feb 29, a birth in this year's YY, unknown countries, sex X, odd names, a filler as the
    # personal number's check digit: the fast path settles some, leaves the rest, never differs.
    rng = random.Random(seed)
    try:
        text = _document(rng, fmt)
    except ValueError:  # a name or a number longer than its field
        return
    general = parse_mrz(text.replace("\n", "\r"), today=today)
    for newline in ("\n", "\r\n"):
        assert parse_mrz(text.replace("\n", newline), today=today) == general
