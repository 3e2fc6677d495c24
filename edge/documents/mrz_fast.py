"""Fast path of `parse_mrz` for the common case: a clean MRZ with plain line breaks.

One regular expression per layout, built from `mrz_layouts`, recognises the whole text at once
and captures the `PARTS`; it only accepts what each field allows (A-Z and < in names and
country codes, digits in dates and check digits, M, F or < as sex; a name starts with a
letter and ends with a filler), so `assemble` can skip those checks. For TD3 it reads::

    ([A-Z<]{2})([A-Z<]{3})([A-Z][A-Z<]{37}<)\\r?\\n([A-Z0-9<]{9})[0-9]([A-Z<]{3})([0-9]{6})[0-9]
    ([MF<])([0-9]{6})[0-9]([A-Z0-9<]{14})([0-9<])[0-9]

Anything else (partial dates, sex X, long document numbers, errors of any kind, unusual
whitespace) does not match and takes the general path, which gives the same answer slowly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from edge.documents.mrz_checks import FAST_CHECKS
from edge.documents.mrz_dates import EXPIRY_YEAR, MONTH_DAY, Today
from edge.documents.mrz_digits import MOD10
from edge.documents.mrz_fields import ALL_PASSED, COUNTRY, assemble
from edge.documents.mrz_layouts import LAYOUTS, Layout
from edge.documents.result import ParseResult

__all__ = ["pattern", "try_fast"]

_LETTERS = "[A-Z<]"
_DIGITS = "[0-9]"
_ANY = "[A-Z0-9<]"


def _classes(layout: Layout) -> list[str]:
    """The character class each position allows in a clean MRZ of `layout`."""
    classes = [_ANY] * (layout.width * layout.height)
    letters = [(0, 5), *((s, e) for _, s, e in layout.names)]
    if layout.nationality is not None:
        letters.append((layout.nationality, layout.nationality + 3))
    for start, end in letters:
        classes[start:end] = [_LETTERS] * (end - start)
    # A name that starts with a filler or fills its whole field needs a closer look.
    for _, start, end in layout.names:
        classes[start], classes[end - 1] = "[A-Z]", "<"
    for field in (layout.birth, layout.expiry):
        if field is not None:
            classes[field.start : field.end] = [_DIGITS] * (field.end - field.start)
    for index, pos in enumerate(layout.check_digit_positions()):
        if pos >= 0:
            classes[pos] = "[0-9<]" if index == 3 else _DIGITS
    classes[layout.sex] = "[MF<]"
    return classes


def pattern(layout: Layout) -> str:
    """The regular expression of a clean MRZ of `layout` (lines joined by LF or CR LF)."""
    classes = _classes(layout)
    starts = {start: end for start, end in layout.part_spans() if end > start}
    out: list[str] = []
    run_class, run_length = "", 0

    def flush() -> None:
        if run_length:
            out.append(run_class + (f"{{{run_length}}}" if run_length > 1 else ""))

    group_end = -1
    for pos, cls in enumerate(classes):
        boundary = pos == group_end or pos in starts or (pos and pos % layout.width == 0)
        if boundary or cls != run_class:
            flush()
            run_class, run_length = cls, 0
        if pos == group_end:
            out.append(")")
            group_end = -1
        if pos and pos % layout.width == 0:
            out.append(r"\r?\n")
        if pos in starts:
            out.append("(")
            group_end = starts[pos]
        run_length += 1
    flush()
    if group_end == len(classes):
        out.append(")")
    if any(end == start for start, end in layout.part_spans()):
        out.append("()")  # the empty group stands for absent parts
    return "".join(out)


# Month-day table without Feb 29: a leap day goes to `assemble`, which checks the year.
_MONTH_DAY = {mmdd: suffix for mmdd, suffix in MONTH_DAY.items() if mmdd != "0229"}
_EMPTY_PERSONAL = "<" * 14

FastParser = Callable[[str, Today], ParseResult | None]


def _fast_parser(layout: Layout) -> FastParser:
    """The fast parser of `layout`, its constants bound once instead of looked up per call."""
    regex = re.compile(pattern(layout))
    checks = FAST_CHECKS[layout.format]
    spans = layout.part_spans()
    present = sorted((start, index) for index, (start, end) in enumerate(spans) if end > start)
    group_of = {index: group for group, (_, index) in enumerate(present)}
    order = [group_of.get(index, len(present)) for index in range(len(spans))]
    reorder = None if order == list(range(len(spans))) else itemgetter(*order)
    fmt, codes, passed = layout.format, layout.codes, ALL_PASSED[layout.format]
    personal = layout.personal is not None
    optional = [name for name, _, _ in layout.optional] + [None, None]
    key_1, key_2 = ("personal_number", None) if personal else (optional[0], optional[1])
    long = layout.overflow is not None
    shortcut = fmt != "fra_id"

    def parse(s: str, today: Today) -> ParseResult | None:
        match = regex.fullmatch(s)
        if match is None:
            return None
        verdicts = checks(s.encode("ascii").translate(MOD10, b"\r\n"))
        parts = match.groups() if reorder is None else reorder(match.groups())
        if not shortcut or False in verdicts:
            return assemble(layout, parts, verdicts, today, None, clean=True)
        # Every check passed: build the result here unless something needs `assemble`'s
        # closer look (unknown country, stray fillers between names, Feb 29, a birth year
        # equal to this year's YY, a filler check digit on a personal number).
        code, issuer_raw, name, number, nat_raw, birth_raw, sex, expiry_raw, extra_1, extra_2 = (
            parts
        )
        issuer = COUNTRY.get(issuer_raw)
        nationality = COUNTRY.get(nat_raw)
        birth_suffix = _MONTH_DAY.get(birth_raw[2:])
        expiry_suffix = _MONTH_DAY.get(expiry_raw[2:])
        birth_year = today.birth_years.get(birth_raw[:2])
        surname, _, given_names = name.rstrip("<").replace("<", " ").partition("  ")
        if not (
            code in codes
            and issuer
            and nationality
            and birth_suffix
            and expiry_suffix
            and birth_year
            and "  " not in given_names
            and given_names[:1] != " "
            and (not personal or extra_2 != "<" or extra_1 == _EMPTY_PERSONAL)
        ):
            return assemble(layout, parts, verdicts, today, None, clean=True)
        fields: dict[str, Any] = {
            "document_code": code.rstrip("<"),
            "issuing_country": issuer,
            "document_number": number.rstrip("<"),
            "surname": surname,
            "given_names": given_names,
            "nationality": nationality,
            "birth_date": birth_year + birth_suffix,
            "birth_date_raw": birth_raw,
            "sex": sex,
            "expiry_date": EXPIRY_YEAR[expiry_raw[:2]] + expiry_suffix,
            "expiry_date_raw": expiry_raw,
        }
        if key_1 is not None:
            fields[key_1] = extra_1.rstrip("<")
        if key_2 is not None:
            fields[key_2] = extra_2.rstrip("<")
        if long:
            fields["long_document_number"] = None
        return ParseResult(True, fmt, fields, passed.copy(), [], [])

    return parse


_TD1, _TD2, _TD3, _MRVA, _MRVB, _FRA_ID = (
    _fast_parser(LAYOUTS[fmt]) for fmt in ("td1", "td2", "td3", "mrva", "mrvb", "fra_id")
)
# Length of the stripped text with LF or CR LF line breaks -> line width.
_WIDTH = {89: 44, 90: 44, 73: 36, 74: 36, 92: 30, 93: 30, 94: 30}


def try_fast(text: str, today: Today) -> ParseResult | None:
    """The result of a clean MRZ, or None to send `text` down the general path."""
    s = text.strip()
    width = _WIDTH.get(len(s))
    if width == 44:
        return _MRVA(s, today) if s[0] == "V" else _TD3(s, today)
    if width == 36:
        if s[0] == "V":
            return _MRVB(s, today)
        return _FRA_ID(s, today) if s.startswith("IDFRA") else _TD2(s, today)
    if width == 30:
        return _TD1(s, today)
    return None
