"""IATA Bar Coded Boarding Pass (Resolution 792, format `M`) parser, versions 1-8, 1-4 legs.

Every size field (item 6 per leg, item 10, item 17, the security length) is checked against the
data present and nothing is read across a size boundary; an item may stop after any of its fields.
Malformed input is a `ParseResult` with `valid=False` and typed issues whose column is the 1-based
offset in the pass; only input that is not text at all raises `DocumentError`. The security
section is kept, never verified: the airline's key is not known here. Messages never quote the
pass's data.

Fields carry the Resolution 792 element names in snake_case, padding stripped, legs as a list of
dicts under `legs`. Dates are ISO, their raw Julian form kept beside them in `*_julian`; years
come from the date of issue when the pass has one, else from the scan date (`bcbp_dates`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, NoReturn

from edge.documents.bcbp_dates import flight_days, issue_from_raw, remember_flight
from edge.documents.bcbp_encode import encode_bcbp
from edge.documents.bcbp_fields import (
    CONDITIONAL_HEADER_LENGTH,
    CONDITIONAL_MARKER,
    DATE_OF_FLIGHT_OFFSET,
    DATE_OF_ISSUE_OFFSET,
    FORMAT_CODE,
    HEADER_LENGTH,
    ITEM_6_OFFSET,
    LATEST_VERSION,
    LEG_KEYS,
    LEG_LENGTH,
    MAX_SIZE,
    REPEATED_LAYOUT,
    REPEATED_READERS,
    SECURITY_HEADER_LENGTH,
    SECURITY_MARKER,
    UNIQUE_LAYOUT,
    UNIQUE_READERS,
    Layout,
)
from edge.documents.result import Check, Issue, ParseResult
from edge.errors import DocumentError

__all__ = ["FORMAT", "encode_bcbp", "parse_bcbp"]

FORMAT = "bcbp"

_HEX_DIGITS = "0123456789ABCDEFabcdef"
_HEX2: dict[str, int] = {a + b: int(a + b, 16) for a in _HEX_DIGITS for b in _HEX_DIGITS}
# Bytes other than printable ASCII become NUL, which one memchr then finds: about half the cost
# of `str.isprintable`, which looks each character up in the Unicode tables.
_UNPRINTABLE_TO_NUL = bytes(c if 0x20 <= c <= 0x7E else 0 for c in range(256))
_LEG_COUNTS = {"1": 1, "2": 2, "3": 3, "4": 4}
_ITEM_6_END = ITEM_6_OFFSET + 2
_ITEM_6 = slice(ITEM_6_OFFSET, _ITEM_6_END)
_NOT_A_SIZE = MAX_SIZE + 1  # for a size that is not hexadecimal: more than any item 6 holds


_PNR, _FROM, _TO, _CARRIER, _FLIGHT, _DAY, _COMPARTMENT, _SEAT, _SEQUENCE, _STATUS = LEG_KEYS
# The verdicts once: an Enum attribute read costs as much as building the whole checks dict.
_PASSED, _FAILED = Check.PASSED, Check.FAILED
_NOT_SUPPORTED, _NOT_APPLICABLE = Check.NOT_SUPPORTED, Check.NOT_APPLICABLE
_CHECKS_FAILED = {
    dates: {
        "structure": Check.FAILED,
        "dates": Check.FAILED if dates else Check.UNDETERMINED,
        "security_signature": Check.UNDETERMINED,
    }
    for dates in (False, True)
}


class _Malformed(Exception):
    """The structure is broken at `offset` (0-based); nothing after it can be located."""

    def __init__(self, code: str, message: str, offset: int) -> None:
        super().__init__(code)
        self.issue = Issue(code, message, column=offset + 1)


def parse_bcbp(data: str | bytes, *, scan_date: date | None = None) -> ParseResult:
    """Parse one BCBP string; flight years are inferred around `scan_date` (default: today, UTC)."""
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray):
        # Latin-1 maps every byte to one character, so offsets stay byte offsets and anything
        # outside printable ASCII is reported where it is instead of failing to decode.
        text = bytes(data).decode("latin-1")
    else:
        raise DocumentError(f"BCBP input must be str or bytes, not {type(data).__name__}")
    if scan_date is None:
        scan_date = datetime.now(UTC).date()
    fields: dict[str, Any] = {}
    errors: list[Issue] = []
    warnings: list[Issue] = []
    try:
        _parse(text, scan_date, fields, errors, warnings)
    except _Malformed as exc:
        checks = _CHECKS_FAILED[bool(errors)].copy()
        errors.append(exc.issue)
        return ParseResult(False, FORMAT, fields, checks, errors, warnings)
    checks = {
        "structure": _PASSED,
        "dates": _FAILED if errors else _PASSED,
        "security_signature": _NOT_SUPPORTED if "security_data_type" in fields else _NOT_APPLICABLE,
    }
    return ParseResult(not errors, FORMAT, fields, checks, errors, warnings)


def _parse(
    text: str, scan: date, fields: dict[str, Any], errors: list[Issue], warnings: list[Issue]
) -> None:
    """Fill `fields`; date problems go to `errors`, structural ones raise `_Malformed`."""
    n = len(text)
    if n == 0:
        raise _Malformed("too_short", "the input is empty", 0)
    if not text.isascii() or 0 in text.encode().translate(_UNPRINTABLE_TO_NUL):
        at = next(i for i, ch in enumerate(text) if not " " <= ch <= "~")
        raise _Malformed("non_printable", "character outside printable ASCII", at)
    if text[0] != FORMAT_CODE:
        raise _Malformed("bad_format_code", "the format code is not 'M'", 0)
    fields["format_code"] = FORMAT_CODE
    declared = _LEG_COUNTS.get(text[1:2])
    if declared is None:
        raise _Malformed("bad_leg_count", "the number of legs is not a digit 1-4", 1)
    fields["number_of_legs"] = declared
    if n < HEADER_LENGTH + LEG_LENGTH:
        raise _Malformed(
            "too_short",
            f"{n} characters; the mandatory items take at least {HEADER_LENGTH + LEG_LENGTH}",
            n,
        )
    fields["passenger_name"] = text[2:22].strip()
    fields["electronic_ticket_indicator"] = text[22].strip()
    legs: list[dict[str, Any]] = []
    fields["legs"] = legs
    version: int | None = None
    issued: date | None = None
    pos = HEADER_LENGTH
    for index in range(declared):
        x = text[pos : pos + LEG_LENGTH]
        try:
            size = _HEX2[x[_ITEM_6]]
        except KeyError:  # short, or no hexadecimal item 6
            size = _item_6(text, pos, declared, index)
        if x[0] == SECURITY_MARKER:  # perhaps a security section where a leg should be
            size = _item_6(text, pos, declared, index)
        start = pos + LEG_LENGTH
        end = start + size
        if end > n:
            raise _Malformed(
                "size_overflow",
                f"item 6 of leg {index + 1} declares {size} characters, {n - start} remain",
                pos + ITEM_6_OFFSET,
            )
        if index == 0:
            if size:
                # Leg 1's conditional header comes first: its date of issue places the years.
                version, block, start = _conditional_header(text, start, end, fields, warnings)
                if "date_of_issue_of_boarding_pass" in fields:
                    issued = _issue(text, block, scan, fields, errors)
            days = flight_days(scan, issued)
        raw_day = x[_DAY]
        try:
            iso: str | None = days[raw_day]
        except KeyError:
            iso = remember_flight(days, raw_day, scan, issued)
        # LEG_FIELDS spelled out: a dict display is markedly faster than a loop over the table.
        leg: dict[str, Any] = {
            "operating_carrier_pnr": x[_PNR].strip(),
            "from_airport": x[_FROM].strip(),
            "to_airport": x[_TO].strip(),
            "operating_carrier_designator": x[_CARRIER].strip(),
            "flight_number": x[_FLIGHT].strip(),
            "date_of_flight": iso,
            "date_of_flight_julian": raw_day,
            "compartment_code": x[_COMPARTMENT].strip(),
            "seat_number": x[_SEAT].strip(),
            "check_in_sequence_number": x[_SEQUENCE].strip(),
            "passenger_status": x[_STATUS].strip(),
        }
        legs.append(leg)
        if iso is None:
            del leg["date_of_flight"]
            errors.append(_bad_day(raw_day, "the date of flight", pos + DATE_OF_FLIGHT_OFFSET))
        if start < end:
            # Item 17 and its fields, inline: this runs for most legs of most passes. A size
            # that is not hexadecimal, or read past `end`, makes the block overrun item 6.
            try:
                item17 = _HEX2[text[start : start + 2]]
            except KeyError:
                item17 = _NOT_A_SIZE
            block = start + 2
            stop = block + item17
            if stop > end:
                _bad_item_17(text, start, end, index + 1)
            reader = REPEATED_READERS[item17]
            if reader is None:
                _odd_block(text, block, item17, REPEATED_LAYOUT, leg, version, index + 1, warnings)
            else:
                chunk = text[block:stop]
                for name, key in reader:
                    leg[name] = chunk[key].strip()
            if stop < end:
                leg["airline_individual_use"] = text[stop:end]
        pos = end
    if pos < n:
        if text[pos] == SECURITY_MARKER:
            _security(text, pos, fields)
        elif _looks_like_leg(text, pos):
            raise _Malformed(
                "leg_count_mismatch", f"data for more than the {declared} legs declared", pos
            )
        else:
            raise _Malformed(
                "trailing_data", f"{n - pos} unexpected characters after the last leg", pos
            )


def _size(text: str, at: int, what: str) -> int:
    """The two hexadecimal digits at `at`."""
    value = _HEX2.get(text[at : at + 2])
    if value is None:
        raise _Malformed("bad_size_field", f"{what} is not two hexadecimal digits", at)
    return value


def _conditional_header(
    text: str, start: int, end: int, fields: dict[str, Any], warnings: list[Issue]
) -> tuple[int, int, int]:
    """Read `>`, the version, item 10 and the unique items; return version, block start, end."""
    if text[start] != CONDITIONAL_MARKER:
        raise _Malformed(
            "bad_conditional_marker", "the variable part of leg 1 does not start with '>'", start
        )
    if end - start < CONDITIONAL_HEADER_LENGTH:
        raise _Malformed(
            "field_split",
            "item 6 of leg 1 ends inside the conditional header ('>', version, item 10)",
            end,
        )
    digit = text[start + 1]
    if not "1" <= digit <= "9":
        raise _Malformed("bad_version", "the version number is not a digit 1-9", start + 1)
    version = ord(digit) - ord("0")
    if version > LATEST_VERSION:
        warnings.append(
            Issue(
                "unknown_version",
                f"version {version} is newer than {LATEST_VERSION}; read as version "
                f"{LATEST_VERSION}",
                column=start + 2,
            )
        )
    fields["version_number"] = version
    size = _size(text, start + 2, "item 10 (size of the unique conditional items)")
    block = start + CONDITIONAL_HEADER_LENGTH
    if block + size > end:
        raise _Malformed(
            "size_overflow",
            f"item 10 declares {size} characters, item 6 of leg 1 leaves {end - block}",
            start + 2,
        )
    reader = UNIQUE_READERS[size]
    if reader is None:
        _odd_block(text, block, size, UNIQUE_LAYOUT, fields, version, 0, warnings)
    else:
        chunk = text[block : block + size]
        for name, key in reader:
            fields[name] = chunk[key].strip()
    return version, block, block + size


def _item_6(text: str, pos: int, declared: int, index: int) -> int:
    """Item 6 of leg `index` + 1 at `pos`, or raise why that leg cannot be read there."""
    n = len(text)
    if pos >= n or (
        text[pos] == SECURITY_MARKER and (n - pos < LEG_LENGTH or _is_security(text, pos))
    ):
        # A security section, or a `^` where there is no room for a leg anyway.
        raise _Malformed(
            "leg_count_mismatch", f"{declared} legs declared, data found for {index}", pos
        )
    if n - pos < LEG_LENGTH:
        raise _Malformed("truncated", f"the mandatory items of leg {index + 1} are cut short", n)
    return _size(text, pos + ITEM_6_OFFSET, f"item 6 (variable size) of leg {index + 1}")


def _bad_item_17(text: str, start: int, end: int, number: int) -> NoReturn:
    """Raise the reason why item 17 of leg `number` at `start` does not fit before `end`."""
    if end - start < 2:
        raise _Malformed("field_split", f"item 6 of leg {number} ends inside item 17", end)
    size = _size(text, start, f"item 17 of leg {number} (size of the repeated conditional items)")
    raise _Malformed(
        "size_overflow",
        f"item 17 of leg {number} declares {size} characters, item 6 leaves {end - start - 2}",
        start,
    )


def _odd_block(
    text: str,
    start: int,
    size: int,
    layout: Layout,
    out: dict[str, Any],
    version: int | None,
    number: int,
    warnings: list[Issue],
) -> None:
    """Item 10 (`number` 0) or 17 whose size cuts a field or exceeds the fields it can hold."""
    label = f"item 17 of leg {number}" if number else "item 10"
    known = layout[-1][2]
    if size > known:
        if version is None or version <= LATEST_VERSION:
            raise _Malformed(
                "block_too_long",
                f"{label} declares {size} characters, its fields take at most {known}",
                start - 2,
            )
        # A newer version may append fields: read the known ones, report the rest.
        warnings.append(
            Issue(
                "unknown_conditional_data",
                f"{label} holds {size - known} characters after the fields of version "
                f"{LATEST_VERSION}; not read",
                column=start + known + 1,
            )
        )
        for name, s, e in layout:
            out[name] = text[start + s : start + e].strip()
        return
    cut = next(name for name, s, e in layout if s < size < e)
    raise _Malformed("field_split", f"{label} ends inside {cut}", start + size)


def _security(text: str, pos: int, fields: dict[str, Any]) -> None:
    """Read the security section at `pos`, which must run exactly to the end of the input."""
    n = len(text)
    if n - pos < SECURITY_HEADER_LENGTH:
        raise _Malformed("truncated", "the security header ('^', type, length) is cut short", n)
    size = _size(text, pos + 2, "the length of the security data")
    start = pos + SECURITY_HEADER_LENGTH
    if start + size > n:
        raise _Malformed(
            "size_overflow",
            f"the security data length declares {size} characters, {n - start} remain",
            pos + 2,
        )
    fields["security_data_type"] = text[pos + 1]
    fields["security_data"] = text[start : start + size]
    if start + size < n:
        raise _Malformed(
            "trailing_data",
            f"{n - start - size} unexpected characters after the security data",
            start + size,
        )


def _is_security(text: str, pos: int) -> bool:
    """Whether a security section running exactly to the end of the input starts at `pos`."""
    size = _HEX2.get(text[pos + 2 : pos + SECURITY_HEADER_LENGTH])
    return size is not None and pos + SECURITY_HEADER_LENGTH + size == len(text)


def _looks_like_leg(text: str, pos: int) -> bool:
    """Whether a whole leg (mandatory items and an item 6 that fits) starts at `pos`."""
    if len(text) - pos < LEG_LENGTH:
        return False
    size = _HEX2.get(text[pos + ITEM_6_OFFSET : pos + _ITEM_6_END])
    return size is not None and pos + LEG_LENGTH + size <= len(text)


def _issue(
    text: str, block: int, scan: date, fields: dict[str, Any], errors: list[Issue]
) -> date | None:
    """Date of issue as an ISO date (raw value kept in `*_julian`); None when blank or invalid."""
    raw = fields["date_of_issue_of_boarding_pass"]
    fields["date_of_issue_of_boarding_pass_julian"] = raw
    if not raw:
        return None
    at = block + DATE_OF_ISSUE_OFFSET
    issued = issue_from_raw(text[at : at + 4], scan)
    if issued is None:
        del fields["date_of_issue_of_boarding_pass"]
        day = text[at + 1 : at + 4] if "0" <= text[at] <= "9" else ""
        errors.append(_bad_day(day, "the date of issue", at))
        return None
    fields["date_of_issue_of_boarding_pass"] = issued.isoformat()
    return issued


def _bad_day(raw: str, what: str, at: int) -> Issue:
    """The error for a Julian day `raw` at offset `at` that gives no date."""
    if raw == "366":
        return Issue("bad_date", f"{what} is day 366 but no leap year fits", column=at + 1)
    return Issue("bad_date", f"{what} is not a Julian day 001-366", column=at + 1)
