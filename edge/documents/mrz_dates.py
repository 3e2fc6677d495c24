"""MRZ dates (``YYMMDD``, ICAO 9303 Part 3 section 4.8) to ISO 8601, with the century inferred.

9303 defines no century rule. Birth: the most recent century that does not put the date after
`today`. Expiry: 20YY, except YY >= 70 -> 19YY (documents valid for decades do not exist).
Unknown parts of a birth date are written ``<<`` and give a reduced-precision ISO date
(``1974`` or ``1974-08``), or None when the year itself is unknown.
"""

from __future__ import annotations

import datetime
import time
from typing import NamedTuple

from edge.documents.mrz_digits import digits_key, packed

__all__ = [
    "EXPIRY_YEAR",
    "MONTH_DAY",
    "Today",
    "birth_partial",
    "birth_year",
    "is_leap",
    "today_context",
]

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# "MMDD" of every day that exists in some year -> "-MM-DD"; Feb 29 still needs a leap year.
MONTH_DAY: dict[str, str] = {
    f"{m:02d}{d:02d}": f"-{m:02d}-{d:02d}"
    for m in range(1, 13)
    for d in range(1, _DAYS_IN_MONTH[m - 1] + 1)
}

# "YY" of a date of expiry -> "YYYY".
EXPIRY_YEAR: dict[str, str] = {
    f"{yy:02d}": f"{1900 + yy if yy >= 70 else 2000 + yy}" for yy in range(100)
}

_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


class Today(NamedTuple):
    """The reference day of a parse, prepared for string comparisons with MRZ dates."""

    ordinal: int
    century: str  # "20" in 2025
    previous: str  # "19" in 2025
    compact: str  # "20250314"
    # "YY" of a date of birth -> "YYYY" when the year alone settles the century; "" for this
    # year's YY, where month and day decide.
    birth_years: dict[str, str]
    # `digits_key` of "YY" -> (its `birth_years` entry, its packed check-digit sums): the
    # fast path's table.
    birth_table: dict[int, tuple[str, int]]


_cached = Today(-1, "", "", "", {}, {})
_utc_cached = _cached
_utc_until = 0.0  # epoch second at which the current UTC day ends


def today_context(today: datetime.date | None) -> Today:
    """The `Today` of `today`, or of the current UTC date when None."""
    global _cached, _utc_cached, _utc_until  # noqa: PLW0603 - caches shared by every parse
    if today is None:
        now = time.time()
        if now < _utc_until:
            return _utc_cached
        day_number = int(now // 86400)
        _utc_cached = _context(day_number + _EPOCH_ORDINAL)
        _utc_until = (day_number + 1) * 86400.0
        return _utc_cached
    ordinal = today.toordinal()
    if _cached.ordinal != ordinal:
        _cached = _context(ordinal)
    return _cached


def _context(ordinal: int) -> Today:
    day = datetime.date.fromordinal(ordinal)
    century = day.year // 100 * 100
    this_yy = day.year % 100
    years = {
        f"{yy:02d}": ""
        if yy == this_yy
        else f"{century + yy if yy < this_yy else century - 100 + yy:04d}"
        for yy in range(100)
    }
    return Today(
        ordinal,
        f"{day.year // 100:02d}",
        f"{day.year // 100 - 1:02d}",
        f"{day.year:04d}{day.month:02d}{day.day:02d}",
        years,
        {digits_key(yy): (year, packed(yy)) for yy, year in years.items()},
    )


def is_leap(year: str) -> bool:
    """Whether the four-digit `year` is a leap year."""
    y = int(year)
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def birth_year(raw: str, today: Today) -> str:
    """Year of a full birth date ``YYMMDD`` whose YY is this year's: not after `today`."""
    century = today.century if raw[2:] <= today.compact[4:] else today.previous
    return century + raw[:2]


def birth_partial(raw: str, today: Today) -> tuple[bool, str | None]:
    """(valid, ISO date of reduced precision) of a birth date with ``<<`` for unknown parts."""
    yy, mm, dd = raw[0:2], raw[2:4], raw[4:6]
    for part in (yy, mm, dd):
        if part != "<<" and not part.isdigit():
            return False, None
    month = int(mm) if mm != "<<" else None
    if month is not None and not 1 <= month <= 12:
        return False, None
    if dd != "<<" and not 1 <= int(dd) <= _DAYS_IN_MONTH[(month or 1) - 1]:
        return False, None
    if yy == "<<":
        return True, None
    known = yy if month is None else yy + mm
    year = today.century + yy
    if today.century + known > today.compact[: 2 + len(known)]:
        year = today.previous + yy
    if month is None:
        return True, year
    if mm + dd == "0229" and not is_leap(year):
        return False, None
    return True, f"{year}-{mm}"
