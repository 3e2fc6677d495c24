"""Fast path of `parse_mrz` for the common case: a clean, valid MRZ with LF or CR LF line breaks.

The caller picks a parser by the length of the text, which fixes the length of every line. The
parser's regular expression (`pattern`, one per layout and line break) recognises the whole text
and captures its fields, a name already split into surname and given names. For TD3, ``NAME``
standing for `mrz_layouts._NAME`::

    ([A-Z<]{2})([A-Z<]{3})NAME\\n([A-Z0-9<]{9})[0-9]([A-Z<]{3})([0-9]{6})[0-9]([MF<])
    ([0-9]{6})[0-9]([A-Z0-9<]{14})([0-9<])[0-9]

`struct` then reads the MRZ's mod-10 bytes as integers (`mrz_checks.reader`): the document
number and the optional data two characters at a time, summed through `PAIRS`; the YY and MMDD
of each date, keys of tables that give both the field's year or month and day and its packed
check-digit sums; and the check digits. A parser returns None for whatever it does not settle at
once (any error or warning, Feb 29, a birth date in this year's YY, an unknown country, a long
document number, unusual names or whitespace): the general path gives the same answer slowly.
The French ID is only recognised here and then handed to `assemble`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from edge.documents.mrz_checks import FAST_CHECKS, reader
from edge.documents.mrz_dates import EXPIRY_YEAR, MONTH_DAY, Today
from edge.documents.mrz_digits import MOD10, digits_key, packed, pairs
from edge.documents.mrz_fields import ALL_PASSED, COUNTRY, assemble
from edge.documents.mrz_layouts import LAYOUTS, PARTS, Field, Layout, pattern
from edge.documents.result import ParseResult

__all__ = ["FAST_PARSERS", "FastParser"]

FastParser = Callable[[str, Today], ParseResult | None]
Reads = list[tuple[int, str, list[int]]]

_M = 0x3FF  # one phase of a packed sum
_NO_DATE = ("", 0)
# `digits_key` of "MMDD" -> ("-MM-DD", its packed sums four characters into a date); Feb 29
# needs the year and is left to the general path.
_MONTH_DAY = {
    digits_key(md): (suffix, packed(md, 2)) for md, suffix in MONTH_DAY.items() if md != "0229"
}
_EXPIRY_YEAR = {digits_key(yy): (year, packed(yy)) for yy, year in EXPIRY_YEAR.items()}


def _compile(layout: Layout, newline: str) -> Callable[[str], re.Match[str] | None]:
    regex, _ = pattern(layout, newline)
    return re.compile(regex).fullmatch


def _codes(layout: Layout) -> dict[str, str]:
    """Allowed document code as written -> as reported (fillers stripped)."""
    return {code: code.rstrip("<") for code in layout.codes}


def _date(field: Field | None) -> list[tuple[int, str]]:
    """`reader` items of a date: its YY, its MMDD and its check digit."""
    assert field is not None
    return [(field.start, "H"), (field.start + 2, "I"), (field.end, "B")]


def _check_composite(layout: Layout) -> None:
    """The composite sums below take the number, birth and expiry dates at phases 0, 1 and 2."""
    fields = (layout.number, layout.birth, layout.expiry)
    assert [layout.composite_phase(f.start) for f in fields if f is not None] == [0, 1, 2]


def _items(reads: Reads) -> list[tuple[int, str]]:
    return [(pos, code) for pos, code, _ in reads]


def _tables(reads: Reads) -> list[list[int]]:
    return [table for _, _, table in reads]


def _checked(layout: Layout) -> tuple[list[tuple[int, str]], list[list[int]]]:
    """`reader` items of the number, its check digit and both dates; the number's tables."""
    number = layout.number
    reads = pairs(number.start, number.end)
    items = [*_items(reads), (number.end, "B"), *_date(layout.birth), *_date(layout.expiry)]
    return items, _tables(reads)


def _td3(newline: str) -> FastParser:
    layout = LAYOUTS["td3"]
    personal_field = layout.personal
    assert personal_field is not None
    assert layout.composite_cd is not None
    assert layout.composite_phase(personal_field.start) == 0  # as for its own check digit
    _check_composite(layout)
    checked, (t0, t1, t2, t3, t4) = _checked(layout)
    personal_reads = pairs(personal_field.start, personal_field.end)
    read = reader(
        layout,
        [
            *checked,
            *_items(personal_reads),
            (personal_field.end, "B"),
            (layout.composite_cd, "B"),
        ],
        newline,
    )
    u0, u1, u2, u3, u4, u5, u6 = _tables(personal_reads)
    fullmatch = _compile(layout, newline)
    codes, passed = _codes(layout), ALL_PASSED["td3"]
    no_personal = "<" * (personal_field.end - personal_field.start)

    def parse(s: str, today: Today) -> ParseResult | None:
        match = fullmatch(s)
        if match is None:
            return None
        code, issuer, surname, given, number, nat, birth, sex, expiry, personal, personal_cd = (
            match.groups("")
        )
        n0, n1, n2, n3, n4, nc, by, bmd, bc, ey, emd, ec, p0, p1, p2, p3, p4, p5, p6, pc, cc = read(
            s.encode().translate(MOD10)
        )
        birth_year, b = today.birth_table[by]
        birth_suffix, b_mmdd = _MONTH_DAY.get(bmd, _NO_DATE)
        expiry_year, e = _EXPIRY_YEAR[ey]
        expiry_suffix, e_mmdd = _MONTH_DAY.get(emd, _NO_DATE)
        b += b_mmdd
        e += e_mmdd
        n = (t0[n0] + t1[n1] + t2[n2] + t3[n3] + t4[n4]) >> 20
        p = (u0[p0] + u1[p1] + u2[p2] + u3[p3] + u4[p4] + u5[p5] + u6[p6]) >> 20
        # Composite weights: the number starts at 7, the birth date at 3, the expiry date at 1,
        # the personal number at 7; each check digit goes on with its field's weights.
        composite = n + 7 * nc + (b >> 10 & _M) + 3 * bc + (e & _M) + ec + p + pc
        document_code = codes.get(code)
        issuing_country = COUNTRY.get(issuer)
        nationality = COUNTRY.get(nat)
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
            "given_names": given.replace("<", " "),
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
    assert layout.composite_cd is not None
    _check_composite(layout)
    checked, (t0, t1, t2, t3, t4) = _checked(layout)
    read = reader(layout, [*checked, (layout.composite_cd, "B")], newline)
    # The optional data count only in the composite: their tables start at its weight there.
    optional_reads = [
        read
        for _, start, end in layout.optional
        for read in pairs(start, end, layout.composite_phase(start))
    ]
    read_optional = reader(layout, _items(optional_reads), newline)
    u0, u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, u11, u12, u13 = _tables(optional_reads)
    fullmatch = _compile(layout, newline)
    codes, passed = _codes(layout), ALL_PASSED["td1"]

    def parse(s: str, today: Today) -> ParseResult | None:
        match = fullmatch(s)
        if match is None:
            return None
        code, issuer, number, optional_1, birth, sex, expiry, nat, optional_2, surname, given = (
            match.groups("")
        )
        v = s.encode().translate(MOD10)
        n0, n1, n2, n3, n4, nc, by, bmd, bc, ey, emd, ec, cc = read(v)
        o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11, o12, o13 = read_optional(v)
        birth_year, b = today.birth_table[by]
        birth_suffix, b_mmdd = _MONTH_DAY.get(bmd, _NO_DATE)
        expiry_year, e = _EXPIRY_YEAR[ey]
        expiry_suffix, e_mmdd = _MONTH_DAY.get(emd, _NO_DATE)
        b += b_mmdd
        e += e_mmdd
        n = (t0[n0] + t1[n1] + t2[n2] + t3[n3] + t4[n4]) >> 20
        o = (
            u0[o0] + u1[o1] + u2[o2] + u3[o3] + u4[o4] + u5[o5] + u6[o6]
            + u7[o7] + u8[o8] + u9[o9] + u10[o10] + u11[o11] + u12[o12] + u13[o13]
        )  # fmt: skip
        # Composite weights: the number starts at 7, the birth date at 3, the expiry date at 1.
        composite = n + 7 * nc + (b >> 10 & _M) + 3 * bc + (e & _M) + ec + (o >> 20)
        document_code = codes.get(code)
        issuing_country = COUNTRY.get(issuer)
        nationality = COUNTRY.get(nat)
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
            "given_names": given.replace("<", " "),
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
    """TD2, with a composite check digit, and the visas MRV-A and MRV-B, without.

    A TD2 parser hands a text starting with ``IDFRA`` to `french`, as `detect_layout` does.
    """
    fmt = layout.format
    checked, (t0, t1, t2, t3, t4) = _checked(layout)
    read = reader(layout, checked, newline)
    (_, start, end) = layout.optional[0]
    optional_reads: Reads = []
    if layout.composite_cd is not None:
        _check_composite(layout)
        optional_reads = pairs(start, end, layout.composite_phase(start))
        items = [*_items(optional_reads), (layout.composite_cd, "B")]
        read_composite = reader(layout, items, newline)
        u0, u1, u2, u3 = _tables(optional_reads)
    regex, _ = pattern(layout, newline)
    fullmatch = re.compile(("(?!IDFRA)" if french else "") + regex).fullmatch
    codes, passed = _codes(layout), ALL_PASSED[fmt]

    def parse(s: str, today: Today) -> ParseResult | None:
        match = fullmatch(s)
        if match is None:
            return french(s, today) if french and s.startswith("IDFRA") else None
        code, issuer, surname, given, number, nat, birth, sex, expiry, optional = match.groups("")
        v = s.encode().translate(MOD10)
        n0, n1, n2, n3, n4, nc, by, bmd, bc, ey, emd, ec = read(v)
        birth_year, b = today.birth_table[by]
        birth_suffix, b_mmdd = _MONTH_DAY.get(bmd, _NO_DATE)
        expiry_year, e = _EXPIRY_YEAR[ey]
        expiry_suffix, e_mmdd = _MONTH_DAY.get(emd, _NO_DATE)
        b += b_mmdd
        e += e_mmdd
        n = (t0[n0] + t1[n1] + t2[n2] + t3[n3] + t4[n4]) >> 20
        document_code = codes.get(code)
        issuing_country = COUNTRY.get(issuer)
        nationality = COUNTRY.get(nat)
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
            "given_names": given.replace("<", " "),
            "nationality": nationality,
            "birth_date": birth_year + birth_suffix,
            "birth_date_raw": birth,
            "sex": sex,
            "expiry_date": expiry_year + expiry_suffix,
            "expiry_date_raw": expiry,
            "optional_data": optional.rstrip("<"),
        }
        if optional_reads:
            o0, o1, o2, o3, cc = read_composite(v)
            o = u0[o0] + u1[o1] + u2[o2] + u3[o3]
            # Composite weights: the number starts at 7, the birth date at 3, the expiry date at
            # 1; each check digit goes on with its field's weights.
            composite = n + 7 * nc + (b >> 10 & _M) + 3 * bc + (e & _M) + ec + (o >> 20)
            if composite % 10 != cc:
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
