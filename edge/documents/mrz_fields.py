"""Fields, check verdicts and issues of an MRZ whose layout, line lengths and characters are sound.

Fields (strings; None where the document has no such field):
``document_code``, ``issuing_country``, ``document_number``, ``surname``, ``given_names``,
``nationality``, ``birth_date`` / ``expiry_date`` (ISO 8601; a partial birth date has reduced
precision), ``birth_date_raw`` / ``expiry_date_raw`` (``YYMMDD`` as written), ``sex`` (``M``,
``F``, ``X`` or ``<`` as written), plus per format: ``personal_number`` (TD3),
``optional_data_1`` and ``optional_data_2`` (TD1), ``optional_data`` (TD2, visas, French ID),
``long_document_number`` (TD1, TD2: None, ``"standard"`` or ``"filler_included"``).
Fillers are stripped and ``<`` inside names becomes a space; French given names are separated
by ``", "``. Issue messages name fields and positions, never their contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from edge.documents.countries import KNOWN_CODES
from edge.documents.mrz_checks import FAST_CHECKS
from edge.documents.mrz_dates import (
    EXPIRY_YEAR,
    MONTH_DAY,
    Today,
    birth_partial,
    birth_year,
    is_leap,
)
from edge.documents.mrz_digits import DIGITS, MOD10, weighted_sum
from edge.documents.mrz_layouts import LAYOUTS, Layout
from edge.documents.result import Check, Issue, ParseResult

__all__ = ["ALL_PASSED", "COUNTRY", "ISSUES", "add_issue", "assemble", "parse_layout"]

PASSED = Check.PASSED
FAILED = Check.FAILED
UNDETERMINED = Check.UNDETERMINED
NOT_APPLICABLE = Check.NOT_APPLICABLE

# Country field as written (fillers kept) -> code; D<< is Germany.
COUNTRY: dict[str, str] = {code.ljust(3, "<"): code for code in KNOWN_CODES}
_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ<"

# Situation -> (stable code, message). Messages name fields, never their contents.
ISSUES: dict[str, tuple[str, str]] = {
    "document_code": ("document_code", "document code is not allowed in this layout"),
    "number_cd": ("check_digit", "check digit of the document number does not match"),
    "birth_cd": ("check_digit", "check digit of the date of birth does not match"),
    "expiry_cd": ("check_digit", "check digit of the date of expiry does not match"),
    "personal_cd": ("check_digit", "check digit of the personal number does not match"),
    "composite_cd": ("check_digit", "composite check digit does not match"),
    "birth_invalid": ("date_invalid", "date of birth is not a valid date"),
    "expiry_invalid": ("date_invalid", "date of expiry is not a valid date"),
    "birth_partial": ("birth_date_partial", "date of birth is only partly known"),
    "sex_x": ("sex_x", "sex X is meant for the visual zone only (9303 part 5, note f)"),
    "sex_invalid": ("sex_invalid", "sex is not M, F or <"),
    "issuer_unknown": ("country_unknown", "issuing state is not a known country code"),
    "issuer_invalid": ("country_invalid", "issuing state is not a country code (letters only)"),
    "nationality_unknown": ("country_unknown", "nationality is not a known country code"),
    "nationality_invalid": ("country_invalid", "nationality is not a country code (letters only)"),
    "name_charset": ("name_charset", "name holds a character other than A-Z and <"),
    "name_truncated": ("name_truncated", "name fills its field and may be truncated"),
    "long_number_format": (
        "document_number_format",
        "document number check digit is a filler but no long number follows",
    ),
    "long_number_variant": (
        "long_number_filler_variant",
        "long document number check digit includes the filler (issuer variant)",
    ),
}


def add_issue(out: list[Issue], layout: Layout, situation: str, pos: int) -> None:
    """Append the issue of `situation` located at joined-lines position `pos`."""
    code, message = ISSUES[situation]
    out.append(Issue(code, message, *layout.where(pos)))


def _country(
    raw: str, role: str, pos: int, layout: Layout, errors: list[Issue], warnings: list[Issue]
) -> str:
    """Slow path of a country field that is not a known code: `role` is issuer or nationality."""
    code = raw.rstrip("<")
    if code.isalpha():
        add_issue(warnings, layout, f"{role}_unknown", pos)
    else:
        add_issue(errors, layout, f"{role}_invalid", pos)
    return code


def _check_name(
    field: str, start: int, layout: Layout, errors: list[Issue], warnings: list[Issue]
) -> None:
    if field.strip(_NAME_CHARS):
        bad = next(i for i, c in enumerate(field) if c not in _NAME_CHARS)
        add_issue(errors, layout, "name_charset", start + bad)
    # P4 4.2.3.4: a letter in the last position means the name may have been cut.
    if field[-1] != "<":
        add_issue(warnings, layout, "name_truncated", start + len(field) - 1)


def _split_name(field: str) -> tuple[str, str]:
    primary, _, secondary = field.rstrip("<").partition("<<")
    return primary.replace("<", " ").strip(), " ".join(secondary.replace("<", " ").split())


def _french_names(
    layout: Layout, surname: str, given: str, errors: list[Issue], warnings: list[Issue]
) -> tuple[str, str]:
    """Surname (line 1) and given names (line 2, separated by ``<<``) of the French ID."""
    s_start, g_start = layout.names[0][1], layout.names[1][1]
    _check_name(surname, s_start, layout, errors, warnings)
    _check_name(given, g_start, layout, errors, warnings)
    names = (" ".join(part.replace("<", " ").split()) for part in given.split("<<"))
    return " ".join(surname.replace("<", " ").split()), ", ".join(n for n in names if n)


def _long_number(
    layout: Layout, z: str, errors: list[Issue], warnings: list[Issue]
) -> tuple[str, Check, str | None, str]:
    """(number, verdict, variant, rest of the optional field) of a TD1/TD2 long number."""
    assert layout.overflow is not None
    start, filler = layout.number.start, layout.number.end
    o_start, o_end = layout.overflow
    region = z[o_start:o_end]
    end = region.find("<")
    if end == -1:
        end = len(region)
    head = z[start:filler]
    if end < 2:
        add_issue(errors, layout, "long_number_format", filler)
        return head.rstrip("<"), FAILED, None, region.strip("<")
    overflow, cd, rest = region[: end - 1], region[end - 1], region[end:].strip("<")
    # P5 note j: the digit covers the number without the filler; some issuers include it.
    if DIGITS[weighted_sum(head + overflow) % 10] == cd:
        return head + overflow, PASSED, "standard", rest
    if DIGITS[weighted_sum(head + "<" + overflow) % 10] == cd:
        add_issue(warnings, layout, "long_number_variant", o_start + end - 1)
        return head + overflow, PASSED, "filler_included", rest
    add_issue(errors, layout, "number_cd", o_start + end - 1)
    return head + overflow, FAILED, "standard", rest


def _birth_slow(
    raw: str,
    pos: int,
    ok: bool,
    today: Today,
    layout: Layout,
    errors: list[Issue],
    warnings: list[Issue],
) -> tuple[str | None, Check]:
    valid, iso = birth_partial(raw, today)
    if not valid:
        add_issue(errors, layout, "birth_invalid", pos)
        return None, PASSED if ok else FAILED
    add_issue(warnings, layout, "birth_partial", pos)
    # The digit can be right while the date stays incomplete: report it as undetermined.
    return iso, UNDETERMINED if ok else FAILED


class _Plan(NamedTuple):
    """What `assemble` needs of a layout, flattened so that it unpacks in one step."""

    format: str
    codes: frozenset[str]
    french: bool
    overflow: bool  # a long document number may continue in the optional data
    number_cd: int
    birth: int
    expiry: int  # -1: none
    personal_cd: int  # -1: none
    nationality: int  # -1: none
    sex: int
    name: int
    composite_cd: int  # -1: none
    extra_1: str | None  # field name of the first extra part, if it is a field of its own
    extra_2: str | None


def _plan(layout: Layout) -> _Plan:
    expiry, personal = layout.expiry, layout.personal
    optional = [name for name, _, _ in layout.optional] + [None, None]
    extras = ("personal_number", None) if personal is not None else tuple(optional[:2])
    if layout.format == "fra_id":
        extras = (optional[0], None)  # the second extra part is the given names
    return _Plan(
        layout.format,
        layout.codes,
        layout.format == "fra_id",
        layout.overflow is not None,
        layout.number.end,
        layout.birth.start,
        -1 if expiry is None else expiry.start,
        -1 if personal is None else personal.end,
        -1 if layout.nationality is None else layout.nationality,
        layout.sex,
        layout.names[0][1],
        -1 if layout.composite_cd is None else layout.composite_cd,
        extras[0],
        extras[1],
    )


_PLANS = {fmt: _plan(layout) for fmt, layout in LAYOUTS.items()}
_SLICES = {
    fmt: tuple(slice(start, end) for start, end in layout.part_spans())
    for fmt, layout in LAYOUTS.items()
}
_CD_POSITIONS = {fmt: layout.check_digit_positions() for fmt, layout in LAYOUTS.items()}
# The names of the check-digit checks of every layout (the composite last).
CHECK_DIGIT_NAMES = ("document_number", "birth_date", "expiry_date", "personal_number", "composite")
# Verdicts of a document without errors: every check the layout has passed.
ALL_PASSED = {
    fmt: {
        name: PASSED if pos >= 0 else NOT_APPLICABLE
        for name, pos in zip(CHECK_DIGIT_NAMES, positions, strict=True)
    }
    for fmt, positions in _CD_POSITIONS.items()
}


def parse_layout(layout: Layout, z: str, today: Today) -> ParseResult:
    """Parse the joined lines `z` of a known layout whose line lengths and characters are sound."""
    fmt = layout.format
    parts = tuple(z[s] for s in _SLICES[fmt])
    verdicts = list(FAST_CHECKS[fmt](z.encode("ascii").translate(MOD10)))
    for index, pos in enumerate(_CD_POSITIONS[fmt]):
        # A filler or a letter has a value too: only a digit can be a check digit (the TD3
        # personal number's filler is judged in `assemble`).
        if pos >= 0 and z[pos] not in DIGITS and not (index == 3 and z[pos] == "<"):
            verdicts[index] = False
    return assemble(layout, parts, verdicts, today, z, clean=False)


def assemble(
    layout: Layout,
    parts: tuple[str, ...],
    verdicts: Sequence[bool],
    today: Today,
    z: str | None,
    *,
    clean: bool,
) -> ParseResult:
    """The result of a layout from its `PARTS` and check verdicts.

    `clean` parts come from the fast path and are known to hold only the characters their
    fields allow (names A-Z and <, digits in dates and check digits, sex M, F or <); `z`, the
    joined lines, is needed only for a long document number.
    """
    code, issuer_raw, name, number_raw, nat_raw, birth_raw, sex, expiry_raw, extra_1, extra_2 = (
        parts
    )
    number_ok, birth_ok, expiry_ok, personal_ok, composite_ok = verdicts
    (
        fmt,
        codes,
        french,
        overflow,
        n_cd,
        b0,
        e0,
        p_cd,
        nat,
        sex_at,
        name0,
        composite_cd,
        key_1,
        key_2,
    ) = _PLANS[layout.format]
    errors: list[Issue] = []
    warnings: list[Issue] = []

    if code not in codes:
        add_issue(errors, layout, "document_code", 0)
    issuer = COUNTRY.get(issuer_raw) or _country(issuer_raw, "issuer", 2, layout, errors, warnings)
    nationality = None
    if nat >= 0:
        nationality = COUNTRY.get(nat_raw) or _country(
            nat_raw, "nationality", nat, layout, errors, warnings
        )

    if not french:
        if name[-1] != "<" or (not clean and name.strip(_NAME_CHARS)):
            _check_name(name, name0, layout, errors, warnings)
        surname, _, given_names = name.rstrip("<").replace("<", " ").partition("  ")
        if "  " in given_names or given_names[:1] == " " or surname[:1] == " ":
            surname, given_names = _split_name(name)
    else:
        surname, given_names = _french_names(layout, name, extra_2, errors, warnings)

    if sex not in "MF<":
        if sex == "X":
            add_issue(warnings, layout, "sex_x", sex_at)
        else:
            add_issue(errors, layout, "sex_invalid", sex_at)

    long_number: str | None = None
    rest = ""
    if number_ok:
        number = number_raw.rstrip("<")
        number_check = PASSED
    elif overflow and z is not None and z[n_cd] == "<":
        number, number_check, long_number, rest = _long_number(layout, z, errors, warnings)
    else:
        number = number_raw.rstrip("<")
        number_check = FAILED
        add_issue(errors, layout, "number_cd", n_cd)

    suffix = MONTH_DAY.get(birth_raw[2:])
    year = today.birth_years.get(birth_raw[:2])
    birth: str | None
    if suffix is not None and year is not None:
        if not year:
            year = birth_year(birth_raw, today)
        birth = year + suffix
        birth_check = PASSED if birth_ok else FAILED
        if suffix == "-02-29" and not is_leap(year):
            birth = None
            add_issue(errors, layout, "birth_invalid", b0)
    else:
        birth, birth_check = _birth_slow(birth_raw, b0, birth_ok, today, layout, errors, warnings)
    if not birth_ok:
        add_issue(errors, layout, "birth_cd", b0 + 6)

    expiry: str | None = None
    expiry_check = NOT_APPLICABLE
    if e0 >= 0:
        suffix = MONTH_DAY.get(expiry_raw[2:])
        year = EXPIRY_YEAR.get(expiry_raw[:2])
        if suffix is not None and year is not None and (suffix != "-02-29" or is_leap(year)):
            expiry = year + suffix
        else:
            add_issue(errors, layout, "expiry_invalid", e0)
        expiry_check = PASSED if expiry_ok else FAILED
        if not expiry_ok:
            add_issue(errors, layout, "expiry_cd", e0 + 6)

    fields: dict[str, Any] = {
        "document_code": code.rstrip("<"),
        "issuing_country": issuer,
        "document_number": number,
        "surname": surname,
        "given_names": given_names,
        "nationality": nationality,
        "birth_date": birth,
        "birth_date_raw": birth_raw,
        "sex": sex,
        "expiry_date": expiry,
        "expiry_date_raw": expiry_raw or None,
    }

    personal_check = NOT_APPLICABLE
    if p_cd >= 0:
        # P4 4.2.2.2: an empty personal number may have a filler as its check digit.
        if personal_ok and (extra_2 != "<" or not extra_1.strip("<")):
            personal_check = PASSED
        else:
            personal_check = FAILED
            add_issue(errors, layout, "personal_cd", p_cd)
    if key_1 is not None:
        fields[key_1] = extra_1.rstrip("<")
    if key_2 is not None:
        fields[key_2] = extra_2.rstrip("<")
    if overflow:
        if long_number is not None and key_1 is not None:
            # The long number took the start of the optional field; keep what follows it.
            fields[key_1] = rest
        fields["long_document_number"] = long_number

    if composite_cd < 0:
        composite_check = NOT_APPLICABLE
    elif composite_ok:
        composite_check = PASSED
    else:
        composite_check = FAILED
        add_issue(errors, layout, "composite_cd", composite_cd)

    if not errors and birth_check is PASSED:
        checks = ALL_PASSED[fmt].copy()  # the common case, without building it verdict by verdict
    else:
        checks = {
            "document_number": number_check,
            "birth_date": birth_check,
            "expiry_date": expiry_check,
            "personal_number": personal_check,
            "composite": composite_check,
        }
    return ParseResult(not errors, fmt, fields, checks, errors, warnings)
