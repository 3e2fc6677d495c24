"""BCBP encoder: a Resolution 792 string with correct hex sizes, from fields shaped as parsed.

`encode_bcbp(parse_bcbp(s).fields)` re-encodes a pass; `parse_bcbp(encode_bcbp(f)).fields == f`
for fields without padding spaces whose dates the scan date places back in the same years.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from edge.documents.bcbp_dates import julian_day
from edge.documents.bcbp_fields import (
    CONDITIONAL_MARKER,
    FORMAT_CODE,
    LATEST_VERSION,
    LEG_FIELDS,
    MAX_LEGS,
    MAX_SIZE,
    NAME_WIDTH,
    REPEATED_FIELDS,
    SECURITY_MARKER,
    UNIQUE_FIELDS,
)

__all__ = ["encode_bcbp"]

_ISSUE = "date_of_issue_of_boarding_pass"


def encode_bcbp(fields: Mapping[str, Any]) -> str:
    """Encode `fields` (the shape of `ParseResult.fields`); ValueError when they do not fit.

    A conditional field is written when its key is present; absent fields before the last
    present one of the same item are written blank. Dates are ISO strings or `date`s, or the raw
    `*_julian` values when the ISO date is absent.
    """
    legs = fields.get("legs")
    if not isinstance(legs, Sequence) or not 1 <= len(legs) <= MAX_LEGS:
        raise ValueError(f"legs: a list of 1 to {MAX_LEGS} legs expected")
    if fields.get("format_code", FORMAT_CODE) != FORMAT_CODE:
        raise ValueError(f"format_code: only {FORMAT_CODE!r} is defined")
    if fields.get("number_of_legs", len(legs)) != len(legs):
        raise ValueError("number_of_legs: does not match the number of legs given")
    parts = [
        FORMAT_CODE,
        str(len(legs)),
        _fixed(fields, "passenger_name", NAME_WIDTH),
        _fixed(fields, "electronic_ticket_indicator", 1),
    ]
    for index, leg in enumerate(legs):
        if not isinstance(leg, Mapping):
            raise ValueError(f"legs[{index}]: a mapping of fields expected")
        for name, width in LEG_FIELDS:
            if name == "date_of_flight":
                parts.append(_flight_day(leg, index))
            else:
                parts.append(_fixed(leg, name, width))
        variable = _first_leg_variable(fields, leg) if index == 0 else _repeated(leg)
        parts.append(_hex(len(variable), f"legs[{index}]: variable part (item 6)"))
        parts.append(variable)
    parts.append(_security(fields))
    return "".join(parts)


def _first_leg_variable(fields: Mapping[str, Any], leg: Mapping[str, Any]) -> str:
    """`>`, version, item 10 and the unique items, then leg 1's repeated part; or nothing."""
    unique = _item(fields, UNIQUE_FIELDS)
    repeated = _repeated(leg)
    if not unique and not repeated and "version_number" not in fields:
        return ""
    version = fields.get("version_number", LATEST_VERSION)
    if not isinstance(version, int) or not 1 <= version <= 9:
        raise ValueError("version_number: an integer 1-9 expected")
    return f"{CONDITIONAL_MARKER}{version}{_hex(len(unique), 'item 10')}{unique}{repeated}"


def _repeated(leg: Mapping[str, Any]) -> str:
    """Item 17 with the repeated items, then airline individual use; or nothing."""
    block = _item(leg, REPEATED_FIELDS)
    airline = _text("airline_individual_use", leg.get("airline_individual_use", ""))
    if not block and not airline:
        return ""
    return f"{_hex(len(block), 'item 17')}{block}{airline}"


def _item(source: Mapping[str, Any], layout: tuple[tuple[str, int], ...]) -> str:
    """The fields of one sized item, up to the last one present in `source`."""
    present = [
        i
        for i, (name, _) in enumerate(layout)
        if name in source or (name == _ISSUE and f"{_ISSUE}_julian" in source)
    ]
    if not present:
        return ""
    out = []
    for name, width in layout[: present[-1] + 1]:
        if name == _ISSUE:
            out.append(_issue_day(source).ljust(width))
        else:
            out.append(_fixed(source, name, width))
    return "".join(out)


def _fixed(source: Mapping[str, Any], name: str, width: int) -> str:
    """A left-justified, space-padded field."""
    value = _text(name, source.get(name, ""))
    if len(value) > width:
        raise ValueError(f"{name}: longer than {width} characters")
    return value.ljust(width)


def _text(name: str, value: object) -> str:
    """`value`, which must be printable ASCII text."""
    if not isinstance(value, str) or not (value.isascii() and value.isprintable()):
        raise ValueError(f"{name}: printable ASCII text expected")
    return value


def _as_date(name: str, value: object) -> date:
    """`value` as a date: a `date` or an ISO string."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{name}: an ISO date or a datetime.date expected")


def _flight_day(leg: Mapping[str, Any], index: int) -> str:
    """Three-digit Julian day of the flight; a raw `date_of_flight_julian` is written as given."""
    value = leg.get("date_of_flight")
    if value:
        return f"{julian_day(_as_date(f'legs[{index}].date_of_flight', value)):03d}"
    raw = _text(f"legs[{index}].date_of_flight", leg.get("date_of_flight_julian"))
    if len(raw) != 3:
        raise ValueError(f"legs[{index}].date_of_flight: a date or three raw characters expected")
    return raw


def _issue_day(fields: Mapping[str, Any]) -> str:
    """Last digit of the year and Julian day of the date of issue; empty when blank."""
    value = fields.get(_ISSUE)
    if value:
        issued = _as_date(_ISSUE, value)
        return f"{issued.year % 10}{julian_day(issued):03d}"
    raw = _text(f"{_ISSUE}_julian", fields.get(f"{_ISSUE}_julian", ""))
    if len(raw) > 4:
        raise ValueError(f"{_ISSUE}_julian: longer than 4 characters")
    return raw


def _security(fields: Mapping[str, Any]) -> str:
    """`^`, type, hex length and data; or nothing when the pass has no security section."""
    if "security_data" not in fields and "security_data_type" not in fields:
        return ""
    kind = _text("security_data_type", fields.get("security_data_type", "1"))
    data = _text("security_data", fields.get("security_data", ""))
    if len(kind) != 1:
        raise ValueError("security_data_type: one character expected")
    return f"{SECURITY_MARKER}{kind}{_hex(len(data), 'security_data')}{data}"


def _hex(size: int, what: str) -> str:
    """A size as two hexadecimal digits."""
    if size > MAX_SIZE:
        raise ValueError(f"{what}: {size} characters, at most {MAX_SIZE} fit")
    return f"{size:02X}"
