"""Build valid MRZs of every format from fields, with computed check digits.

Values are given as they should appear in the MRZ: upper-case letters and digits; spaces and
hyphens become ``<``. Dates are `datetime.date` or ``YYMMDD`` strings (``<<`` for unknown parts
of a birth date). Every builder returns the lines joined with ``\\n``. `random_mrz` makes
fictional holders only.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from typing import Any, Literal

from edge.documents.countries import ISO_3166_ALPHA3
from edge.documents.mrz_digits import CHARSET, check_digit
from edge.documents.mrz_layouts import LAYOUTS, Field, Layout

__all__ = [
    "FORMATS",
    "Format",
    "Variant",
    "fra_id",
    "mrva",
    "mrvb",
    "name_field",
    "random_mrz",
    "td1",
    "td2",
    "td3",
]

Format = Literal["td1", "td2", "td3", "mrva", "mrvb", "fra_id"]
FORMATS: tuple[Format, ...] = ("td1", "td2", "td3", "mrva", "mrvb", "fra_id")
Variant = Literal["standard", "filler_included"]
DateLike = datetime.date | str

_VALID = frozenset(CHARSET)


def _mrz_text(value: str, width: int | None = None, *, what: str = "value") -> str:
    text = value.upper().replace(" ", "<").replace("-", "<")
    if not set(text) <= _VALID:
        raise ValueError(f"{what} holds characters that an MRZ cannot carry")
    if width is not None:
        if len(text) > width:
            raise ValueError(f"{what} is longer than its {width}-character field")
        text = text.ljust(width, "<")
    return text


def _date(value: DateLike, what: str) -> str:
    if isinstance(value, datetime.date):
        return value.strftime("%y%m%d")
    if len(value) != 6:
        raise ValueError(f"{what} is YYMMDD")
    return _mrz_text(value, 6, what=what)


def name_field(surname: str, given_names: str, width: int) -> str:
    """Primary and secondary identifiers in a `width` field, cut at the end when too long."""
    primary = _mrz_text(surname.strip(), what="surname")
    secondary = _mrz_text(given_names.strip(), what="given names")
    text = f"{primary}<<{secondary}" if secondary else primary
    return text[:width].ljust(width, "<")


class _Zone:
    """The joined lines of one layout under construction."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.chars = ["<"] * (layout.width * layout.height)

    def put(self, start: int, text: str) -> None:
        self.chars[start : start + len(text)] = text

    def field(self, field: Field, value: str, *, what: str) -> None:
        text = _mrz_text(value, field.end - field.start, what=what)
        self.put(field.start, text)
        self.put(field.end, check_digit(text))

    def common(
        self,
        code: str,
        issuing_country: str,
        document_number: str,
        nationality: str,
        birth_date: DateLike,
        sex: str,
        expiry_date: DateLike,
    ) -> None:
        layout = self.layout
        self.put(0, _mrz_text(code, 2, what="document code"))
        self.put(2, _mrz_text(issuing_country, 3, what="issuing state"))
        if len(document_number) <= layout.number.end - layout.number.start:
            self.field(layout.number, document_number, what="document number")
        elif layout.overflow is None:
            raise ValueError(f"a {layout.format} document number has at most 9 characters")
        self.field(layout.birth, _date(birth_date, "birth date"), what="birth date")
        self.put(layout.sex, _mrz_text(sex, 1, what="sex"))
        if layout.expiry is not None:
            self.field(layout.expiry, _date(expiry_date, "expiry date"), what="expiry date")
        if layout.nationality is not None:
            self.put(layout.nationality, _mrz_text(nationality, 3, what="nationality"))

    def long_number(self, document_number: str, optional: str, variant: Variant) -> None:
        """Write a TD1/TD2 number of more than 9 characters, `optional` data after it."""
        layout = self.layout
        assert layout.overflow is not None
        number = _mrz_text(document_number, what="document number")
        head, overflow = number[:9], number[9:]
        digit = check_digit(head + ("<" if variant == "filler_included" else "") + overflow)
        o_start, o_end = layout.overflow
        block = f"{overflow}{digit}<{optional}"
        if len(block.rstrip("<")) > o_end - o_start:
            raise ValueError("document number and optional data do not fit their fields")
        self.put(layout.number.start, head)
        self.put(o_start, block[: o_end - o_start])

    def text(self) -> str:
        layout = self.layout
        if layout.composite_cd is not None:
            covered = "".join("".join(self.chars[s:e]) for s, e in layout.composite)
            self.chars[layout.composite_cd] = check_digit(covered)
        joined = "".join(self.chars)
        width = layout.width
        return "\n".join(joined[i : i + width] for i in range(0, len(joined), width))


def td3(
    *,
    surname: str,
    given_names: str = "",
    document_number: str,
    birth_date: DateLike,
    expiry_date: DateLike,
    sex: str = "<",
    issuing_country: str = "UTO",
    nationality: str | None = None,
    document_code: str = "P",
    personal_number: str = "",
    personal_cd_filler: bool = False,
) -> str:
    """A TD3 (passport) MRZ; `personal_cd_filler` writes ``<`` as the digit of an empty field."""
    zone = _Zone(LAYOUTS["td3"])
    zone.common(
        document_code,
        issuing_country,
        document_number,
        nationality or issuing_country,
        birth_date,
        sex,
        expiry_date,
    )
    zone.put(5, name_field(surname, given_names, 39))
    personal = LAYOUTS["td3"].personal
    assert personal is not None
    zone.field(personal, personal_number, what="personal number")
    if personal_cd_filler:
        if personal_number.strip("<"):
            raise ValueError("a filler check digit needs an empty personal number")
        zone.put(personal.end, "<")
    return zone.text()


def _visa(
    fmt: Format,
    surname: str,
    given_names: str,
    document_number: str,
    birth_date: DateLike,
    expiry_date: DateLike,
    sex: str,
    issuing_country: str,
    nationality: str | None,
    document_code: str,
    optional_data: str,
) -> str:
    layout = LAYOUTS[fmt]
    zone = _Zone(layout)
    zone.common(
        document_code,
        issuing_country,
        document_number,
        nationality or issuing_country,
        birth_date,
        sex,
        expiry_date,
    )
    _, start, end = layout.names[0]
    zone.put(start, name_field(surname, given_names, end - start))
    _, o_start, o_end = layout.optional[0]
    zone.put(o_start, _mrz_text(optional_data, o_end - o_start, what="optional data"))
    return zone.text()


def mrva(
    *,
    surname: str,
    given_names: str = "",
    document_number: str,
    birth_date: DateLike,
    expiry_date: DateLike,
    sex: str = "<",
    issuing_country: str = "UTO",
    nationality: str | None = None,
    document_code: str = "V",
    optional_data: str = "",
) -> str:
    """An MRV-A (2 x 44 visa) MRZ."""
    return _visa(
        "mrva",
        surname,
        given_names,
        document_number,
        birth_date,
        expiry_date,
        sex,
        issuing_country,
        nationality,
        document_code,
        optional_data,
    )


def mrvb(
    *,
    surname: str,
    given_names: str = "",
    document_number: str,
    birth_date: DateLike,
    expiry_date: DateLike,
    sex: str = "<",
    issuing_country: str = "UTO",
    nationality: str | None = None,
    document_code: str = "V",
    optional_data: str = "",
) -> str:
    """An MRV-B (2 x 36 visa) MRZ."""
    return _visa(
        "mrvb",
        surname,
        given_names,
        document_number,
        birth_date,
        expiry_date,
        sex,
        issuing_country,
        nationality,
        document_code,
        optional_data,
    )


def _card(
    fmt: Format,
    surname: str,
    given_names: str,
    document_number: str,
    birth_date: DateLike,
    expiry_date: DateLike,
    sex: str,
    issuing_country: str,
    nationality: str | None,
    document_code: str,
    optional: Sequence[str],
    variant: Variant,
) -> str:
    layout = LAYOUTS[fmt]
    zone = _Zone(layout)
    zone.common(
        document_code,
        issuing_country,
        document_number,
        nationality or issuing_country,
        birth_date,
        sex,
        expiry_date,
    )
    _, start, end = layout.names[0]
    zone.put(start, name_field(surname, given_names, end - start))
    long = len(document_number) > 9
    for index, ((name, o_start, o_end), value) in enumerate(
        zip(layout.optional, optional, strict=True)
    ):
        if long and index == 0:
            zone.long_number(document_number, _mrz_text(value, what=name), variant)
        else:
            zone.put(o_start, _mrz_text(value, o_end - o_start, what=name))
    return zone.text()


def td1(
    *,
    surname: str,
    given_names: str = "",
    document_number: str,
    birth_date: DateLike,
    expiry_date: DateLike,
    sex: str = "<",
    issuing_country: str = "UTO",
    nationality: str | None = None,
    document_code: str = "I",
    optional_data_1: str = "",
    optional_data_2: str = "",
    long_number_variant: Variant = "standard",
) -> str:
    """A TD1 (3 x 30 card) MRZ; numbers over 9 characters continue in optional data 1."""
    return _card(
        "td1",
        surname,
        given_names,
        document_number,
        birth_date,
        expiry_date,
        sex,
        issuing_country,
        nationality,
        document_code,
        (optional_data_1, optional_data_2),
        long_number_variant,
    )


def td2(
    *,
    surname: str,
    given_names: str = "",
    document_number: str,
    birth_date: DateLike,
    expiry_date: DateLike,
    sex: str = "<",
    issuing_country: str = "UTO",
    nationality: str | None = None,
    document_code: str = "I",
    optional_data: str = "",
    long_number_variant: Variant = "standard",
) -> str:
    """A TD2 (2 x 36) MRZ; numbers over 9 characters continue in the optional data."""
    return _card(
        "td2",
        surname,
        given_names,
        document_number,
        birth_date,
        expiry_date,
        sex,
        issuing_country,
        nationality,
        document_code,
        (optional_data,),
        long_number_variant,
    )


def fra_id(
    *,
    surname: str,
    given_names: Sequence[str] = (),
    document_number: str,
    birth_date: DateLike,
    sex: str = "<",
    optional_data: str = "",
) -> str:
    """A pre-2021 French national ID MRZ (``IDFRA``); given names are joined with ``<<``."""
    layout = LAYOUTS["fra_id"]
    zone = _Zone(layout)
    zone.put(0, "IDFRA")
    zone.put(5, _mrz_text(surname, what="surname")[:25])
    zone.put(30, _mrz_text(optional_data, 6, what="optional data"))
    zone.field(layout.number, document_number, what="document number")
    given = "<<".join(_mrz_text(name, what="given name") for name in given_names)
    zone.put(49, given[:14])
    zone.field(layout.birth, _date(birth_date, "birth date"), what="birth date")
    zone.put(layout.sex, _mrz_text(sex, 1, what="sex"))
    return zone.text()


# Made-up names: no real holder is described by the generated documents.
_SURNAMES = (
    "VANTERHOLM", "QUESTRAL", "MIRODAN", "ZELKOVA", "ORBANEK", "TALLIVAR", "KESSADINE",
    "PRUVOST", "LINDQUAR", "OKAFELU", "BRASSENDO", "HOLVIRA", "DUMARECQ", "SETTANI",
    "WOLKENREI", "ARDOVINE", "MOR<TALVEN", "GUIRANDEL", "NEVASKO", "PAPANDRIKOULOSSIDES",
)  # fmt: skip
_GIVEN = (
    "ANNA", "ILVO", "MARET", "TOBIN", "SELKA", "RUNE", "ODALIE", "PAVO", "KIRANE",
    "JOVAN", "ELSPETH", "NOOR", "AMARO", "LIVIANE", "TEODOR", "YSOLDE", "BRAM", "ZAIRA",
)  # fmt: skip
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_STATES = sorted(ISO_3166_ALPHA3)
_BIRTH_RANGE = (datetime.date(1930, 1, 1).toordinal(), datetime.date(2015, 12, 31).toordinal())
_EXPIRY_RANGE = (datetime.date(2025, 1, 1).toordinal(), datetime.date(2035, 12, 31).toordinal())


def _random_text(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(rng.randint(low, high)))


def _random_date(rng: random.Random, bounds: tuple[int, int]) -> datetime.date:
    return datetime.date.fromordinal(rng.randint(*bounds))


def random_mrz(rng: random.Random, fmt: Format) -> str:
    """A valid MRZ of `fmt` for a fictional holder, drawn from `rng`."""
    surname = rng.choice(_SURNAMES)
    given = " ".join(rng.sample(_GIVEN, rng.randint(0, 2)))
    birth = _random_date(rng, _BIRTH_RANGE)
    expiry = _random_date(rng, _EXPIRY_RANGE)
    sex = rng.choice("MMMFFF<")
    if fmt == "fra_id":
        return fra_id(
            surname=surname,
            given_names=given.split(),
            document_number=_random_text(rng, 12, 12),
            birth_date=birth,
            sex=sex if sex != "<" else "M",
            optional_data=_random_text(rng, 6, 6),
        )
    state = "UTO" if rng.random() < 0.1 else rng.choice(_STATES)
    nationality = state if rng.random() < 0.8 else rng.choice(_STATES)
    common: dict[str, Any] = {
        "surname": surname,
        "given_names": given,
        "document_number": _random_text(rng, 6, 9),
        "birth_date": birth,
        "expiry_date": expiry,
        "sex": sex,
        "issuing_country": state,
        "nationality": nationality,
    }
    if fmt == "td3":
        return td3(**common, personal_number=_random_text(rng, 0, 14))
    if fmt == "td1":
        return td1(**common, optional_data_1=_random_text(rng, 0, 15))
    if fmt == "td2":
        return td2(**common, optional_data=_random_text(rng, 0, 7))
    if fmt == "mrva":
        return mrva(**common, optional_data=_random_text(rng, 0, 16))
    return mrvb(**common, optional_data=_random_text(rng, 0, 8))
