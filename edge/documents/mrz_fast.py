"""Fast path of `parse_mrz` for the common case: a clean, valid MRZ with LF or CR LF line breaks.

One regular expression per layout and line break recognises the whole text and captures its
fields. It only accepts what each field allows: A-Z and < in codes and country codes, digits in
dates and check digits, M, F or < as sex, and a name made of words of letters joined by one
filler, two fillers between surname and given names, fillers to the end of the field (captured as
surname and given names). The caller picks a parser by the length of the text, which fixes the
length of every line too. For TD3 (``NAME`` and ``DATE`` standing for `_NAME` and `_DATE`)::

    ([A-Z<]{2})([A-Z<]{3})NAME\\n([A-Z0-9<]{9})[0-9]([A-Z<]{3})DATE[0-9]([MF<])DATE[0-9]
    ([A-Z0-9<]{14})([0-9<])[0-9]

The document number and the optional data are checked with `PACKED` sums of three characters
per lookup; the packed sums of a date come with its year and month-day table entries, which the
fields need anyway. A parser returns None for whatever it does not settle at once (any error or
warning, Feb 29, a birth date in this year's YY, an unknown country, a long document number,
unusual names or whitespace): the general path gives the same answer slowly. The French ID is
only recognised here and then handed to `assemble`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from edge.documents.mrz_checks import FAST_CHECKS, chunker, digit_values
from edge.documents.mrz_dates import EXPIRY_YEAR, MONTH_DAY, Today
from edge.documents.mrz_digits import MOD10, PACKED, packed
from edge.documents.mrz_fields import ALL_PASSED, COUNTRY, assemble
from edge.documents.mrz_layouts import LAYOUTS, PARTS, Layout
from edge.documents.result import ParseResult

__all__ = ["FAST_PARSERS", "FastParser", "pattern"]

FastParser = Callable[[str, Today], ParseResult | None]

_NAME = "([A-Z]+(?:<[A-Z]+)*)(?:<<([A-Z]+(?:<[A-Z]+)*))?<+"
_DATE = "(([0-9]{2})([0-9]{4}))"
_CLASSES = {"code": "[A-Z<]", "issuer": "[A-Z<]", "nationality": "[A-Z<]", "sex": "[MF<]"}


def pattern(layout: Layout, newline: str, *, split: bool = True) -> tuple[str, tuple[str, ...]]:
    """The regular expression of a clean MRZ of `layout` and the names of its groups, in order.

    Groups are named after `PARTS`; with `split`, a name is captured as ``surname`` and
    ``given_names`` and a date as itself, its ``_yy`` and its ``_mmdd``.
    """
    name_starts = {start for _, start, _ in layout.names}
    digits = {pos for pos in layout.check_digit_positions() if pos >= 0}
    tokens: dict[int, tuple[int, str, tuple[str, ...]]] = {}  # start -> (width, regex, groups)
    for part, (start, end) in zip(PARTS, layout.part_spans(), strict=True):
        width = end - start
        if not width:
            continue
        groups: tuple[str, ...]
        if start in name_starts:
            assert not split or len(layout.names) == 1
            regex = _NAME if split else f"([A-Z][A-Z<]{{{width - 2}}}<)"
            groups = ("surname", "given_names") if split else (part,)
        elif part in ("birth", "expiry"):
            regex = _DATE if split else "([0-9]{6})"
            groups = (part, f"{part}_yy", f"{part}_mmdd") if split else (part,)
        else:
            cls = _CLASSES.get(part) or ("[0-9<]" if start in digits else "[A-Z0-9<]")
            regex, groups = (f"({cls})" if width == 1 else f"({cls}{{{width}}})"), (part,)
        tokens[start] = (width, regex, groups)
        digits.discard(start)
    tokens.update((pos, (1, "[0-9]", ())) for pos in digits)
    out: list[str] = []
    names: list[str] = []
    pos = 0
    while pos < layout.width * layout.height:
        if pos and pos % layout.width == 0:
            out.append(newline)
        width, regex, groups = tokens[pos]
        assert pos % layout.width + width <= layout.width, "a part crosses a line break"
        out.append(regex)
        names.extend(groups)
        pos += width
    return "".join(out), tuple(names)


_get = PACKED.__getitem__
_M = 0x3FF  # one phase of a packed sum
_NO_DATE = ("", 0)
# "MMDD" -> ("-MM-DD", its packed sums four characters into a date); Feb 29 needs the year and
# is left to the general path.
_MONTH_DAY = {md: (suffix, packed(md, 2)) for md, suffix in MONTH_DAY.items() if md != "0229"}
_EXPIRY_YEAR = {yy: (year, packed(yy)) for yy, year in EXPIRY_YEAR.items()}


def _compile(layout: Layout, newline: str) -> Callable[[str], re.Match[str] | None]:
    regex, _ = pattern(layout, newline)
    return re.compile(regex).fullmatch


def _codes(layout: Layout) -> dict[str, str]:
    """Allowed document code as written -> as reported (fillers stripped)."""
    return {code: code.rstrip("<") for code in layout.codes}


def _td3(newline: str) -> FastParser:
    layout = LAYOUTS["td3"]
    assert layout.personal is not None
    fullmatch = _compile(layout, newline)
    spans = (layout.number, layout.personal)
    cut = chunker(layout, tuple((field.start, field.end) for field in spans))
    digits = digit_values(layout)
    codes, passed = _codes(layout), ALL_PASSED["td3"]
    no_personal = "<" * (layout.personal.end - layout.personal.start)

    def parse(s: str, today: Today) -> ParseResult | None:
        match = fullmatch(s)
        if match is None:
            return None
        (
            code,
            issuer_raw,
            surname,
            given_names,
            number,
            nationality_raw,
            birth,
            birth_yy,
            birth_mmdd,
            sex,
            expiry,
            expiry_yy,
            expiry_mmdd,
            personal,
            personal_cd,
        ) = match.groups("")
        v = s.encode().translate(MOD10, b"\r\n")
        n0, n1, n2, p0, p1, p2, p3, p4 = map(_get, cut(v))
        nc, bc, ec, pc, cc = digits(v)
        birth_year, b = today.birth_table[birth_yy]
        birth_suffix, b_mmdd = _MONTH_DAY.get(birth_mmdd, _NO_DATE)
        expiry_year, e = _EXPIRY_YEAR[expiry_yy]
        expiry_suffix, e_mmdd = _MONTH_DAY.get(expiry_mmdd, _NO_DATE)
        b += b_mmdd
        e += e_mmdd
        n = (n0 + n1 + n2) >> 20
        p = (p0 + p1 + p2 + p3 + p4) >> 20
        # Composite weights: the number starts at 7, the birth date at 3, the expiry date at 1,
        # the personal number at 7; each check digit goes on with its field's weights.
        composite = n + 7 * nc + (b >> 10 & _M) + 3 * bc + (e & _M) + ec + p + pc
        document_code = codes.get(code)
        issuing_country = COUNTRY.get(issuer_raw)
        nationality = COUNTRY.get(nationality_raw)
        if not (
            document_code
            and issuing_country
            and nationality
            and birth_year
            and birth_suffix
            and expiry_suffix
            and n % 10 == nc
            and (b >> 20) % 10 == bc
            and (e >> 20) % 10 == ec
            and p % 10 == pc
            and composite % 10 == cc
            # P4 4.2.2.2: only an empty personal number may have a filler as its check digit.
            and (personal_cd != "<" or personal == no_personal)
        ):
            return None
        fields: dict[str, Any] = {
            "document_code": document_code,
            "issuing_country": issuing_country,
            "document_number": number.rstrip("<"),
            "surname": surname.replace("<", " "),
            "given_names": given_names.replace("<", " "),
            "nationality": nationality,
            "birth_date": birth_year + birth_suffix,
            "birth_date_raw": birth,
            "sex": sex,
            "expiry_date": expiry_year + expiry_suffix,
            "expiry_date_raw": expiry,
            "personal_number": personal.rstrip("<"),
        }
        return ParseResult(True, "td3", fields, passed.copy(), [], [])

    return parse


def _td1(newline: str) -> FastParser:
    layout = LAYOUTS["td1"]
    fullmatch = _compile(layout, newline)
    (_, start_1, end_1), (_, start_2, end_2) = layout.optional
    cut = chunker(
        layout, ((layout.number.start, layout.number.end), (start_1, end_1), (start_2, end_2))
    )
    digits = digit_values(layout)
    codes, passed = _codes(layout), ALL_PASSED["td1"]

    def parse(s: str, today: Today) -> ParseResult | None:
        match = fullmatch(s)
        if match is None:
            return None
        (
            code,
            issuer_raw,
            number,
            optional_1,
            birth,
            birth_yy,
            birth_mmdd,
            sex,
            expiry,
            expiry_yy,
            expiry_mmdd,
            nationality_raw,
            optional_2,
            surname,
            given_names,
        ) = match.groups("")
        v = s.encode().translate(MOD10, b"\r\n")
        n0, n1, n2, o0, o1, o2, o3, o4, q0, q1, q2, q3 = map(_get, cut(v))
        nc, bc, ec, cc = digits(v)
        birth_year, b = today.birth_table[birth_yy]
        birth_suffix, b_mmdd = _MONTH_DAY.get(birth_mmdd, _NO_DATE)
        expiry_year, e = _EXPIRY_YEAR[expiry_yy]
        expiry_suffix, e_mmdd = _MONTH_DAY.get(expiry_mmdd, _NO_DATE)
        b += b_mmdd
        e += e_mmdd
        n = (n0 + n1 + n2) >> 20
        # Composite weights: the number starts at 7, optional data 1 at 3, the birth date at 3,
        # the expiry date at 1, optional data 2 at 7.
        composite = (
            n
            + 7 * nc
            + ((o0 + o1 + o2 + o3 + o4) >> 10 & _M)
            + (b >> 10 & _M)
            + 3 * bc
            + (e & _M)
            + ec
            + ((q0 + q1 + q2 + q3) >> 20)
        )
        document_code = codes.get(code)
        issuing_country = COUNTRY.get(issuer_raw)
        nationality = COUNTRY.get(nationality_raw)
        if not (
            document_code
            and issuing_country
            and nationality
            and birth_year
            and birth_suffix
            and expiry_suffix
            and n % 10 == nc
            and (b >> 20) % 10 == bc
            and (e >> 20) % 10 == ec
            and composite % 10 == cc
        ):
            return None
        fields: dict[str, Any] = {
            "document_code": document_code,
            "issuing_country": issuing_country,
            "document_number": number.rstrip("<"),
            "surname": surname.replace("<", " "),
            "given_names": given_names.replace("<", " "),
            "nationality": nationality,
            "birth_date": birth_year + birth_suffix,
            "birth_date_raw": birth,
            "sex": sex,
            "expiry_date": expiry_year + expiry_suffix,
            "expiry_date_raw": expiry,
            "optional_data_1": optional_1.rstrip("<"),
            "optional_data_2": optional_2.rstrip("<"),
            "long_document_number": None,
        }
        return ParseResult(True, "td1", fields, passed.copy(), [], [])

    return parse


def _two_line(layout: Layout, newline: str, french: FastParser | None = None) -> FastParser:
    """TD2 (with a composite check digit) and the visas MRV-A and MRV-B (without).

    A TD2 parser hands a text starting with ``IDFRA`` to `french`, as `detect_layout` does.
    """
    fmt = layout.format
    composite_cd = layout.composite_cd is not None
    regex, _ = pattern(layout, newline)
    fullmatch = re.compile(("(?!IDFRA)" if french else "") + regex).fullmatch
    (_, start, end) = layout.optional[0]
    spans = ((start, end),) if composite_cd else ()
    cut = chunker(layout, ((layout.number.start, layout.number.end), *spans))
    digits = digit_values(layout)
    codes, passed = _codes(layout), ALL_PASSED[fmt]

    def parse(s: str, today: Today) -> ParseResult | None:
        match = fullmatch(s)
        if match is None:
            return french(s, today) if french and s.startswith("IDFRA") else None
        (
            code,
            issuer_raw,
            surname,
            given_names,
            number,
            nationality_raw,
            birth,
            birth_yy,
            birth_mmdd,
            sex,
            expiry,
            expiry_yy,
            expiry_mmdd,
            optional,
        ) = match.groups("")
        v = s.encode().translate(MOD10, b"\r\n")
        n0, n1, n2, *rest = map(_get, cut(v))
        nc, bc, ec, *cc = digits(v)
        birth_year, b = today.birth_table[birth_yy]
        birth_suffix, b_mmdd = _MONTH_DAY.get(birth_mmdd, _NO_DATE)
        expiry_year, e = _EXPIRY_YEAR[expiry_yy]
        expiry_suffix, e_mmdd = _MONTH_DAY.get(expiry_mmdd, _NO_DATE)
        b += b_mmdd
        e += e_mmdd
        n = (n0 + n1 + n2) >> 20
        document_code = codes.get(code)
        issuing_country = COUNTRY.get(issuer_raw)
        nationality = COUNTRY.get(nationality_raw)
        if not (
            document_code
            and issuing_country
            and nationality
            and birth_year
            and birth_suffix
            and expiry_suffix
            and n % 10 == nc
            and (b >> 20) % 10 == bc
            and (e >> 20) % 10 == ec
        ):
            return None
        fields: dict[str, Any] = {
            "document_code": document_code,
            "issuing_country": issuing_country,
            "document_number": number.rstrip("<"),
            "surname": surname.replace("<", " "),
            "given_names": given_names.replace("<", " "),
            "nationality": nationality,
            "birth_date": birth_year + birth_suffix,
            "birth_date_raw": birth,
            "sex": sex,
            "expiry_date": expiry_year + expiry_suffix,
            "expiry_date_raw": expiry,
            "optional_data": optional.rstrip("<"),
        }
        if composite_cd:
            # Composite weights: the number starts at 7, the birth date at 3, the expiry date at
            # 1, the optional data at 7.
            composite = n + 7 * nc + (b >> 10 & _M) + 3 * bc + (e & _M) + ec + (sum(rest) >> 20)
            if composite % 10 != cc[0]:
                return None
            fields["long_document_number"] = None
        return ParseResult(True, fmt, fields, passed.copy(), [], [])

    return parse


def _assembled(layout: Layout, newline: str) -> FastParser:
    """Recognises a clean MRZ of `layout` and leaves fields and verdicts to `assemble`."""
    regex, names = pattern(layout, newline, split=False)
    fullmatch = re.compile(regex + "()").fullmatch  # the empty group stands for absent parts
    order = [names.index(part) + 1 if part in names else len(names) + 1 for part in PARTS]
    checks = FAST_CHECKS[layout.format]

    def parse(s: str, today: Today) -> ParseResult | None:
        match = fullmatch(s)
        if match is None:
            return None
        verdicts = checks(s.encode().translate(MOD10, b"\r\n"))
        return assemble(layout, match.group(*order), verdicts, today, None, clean=True)

    return parse


def _parsers(newline: str) -> dict[int, tuple[FastParser, FastParser]]:
    """Length of the stripped text -> (parser, parser of a text starting with V)."""
    td1, breaks = _td1(newline), len(newline)
    return {
        88 + breaks: (_td3(newline), _two_line(LAYOUTS["mrva"], newline)),
        72 + breaks: (
            _two_line(LAYOUTS["td2"], newline, _assembled(LAYOUTS["fra_id"], newline)),
            _two_line(LAYOUTS["mrvb"], newline),
        ),
        90 + 2 * breaks: (td1, td1),
    }


FAST_PARSERS = _parsers("\n") | _parsers("\r\n")
