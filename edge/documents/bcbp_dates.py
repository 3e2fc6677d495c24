"""Year inference for BCBP dates, which carry a Julian day and at most the last digit of a year."""

from __future__ import annotations

import calendar
from datetime import MAXYEAR, MINYEAR, date
from functools import lru_cache

# The date of issue is the issuing station's local date; the scan date is UTC. East of UTC the
# local date runs up to a day ahead, which must not push the issue year back a whole decade.
_ISSUE_TOLERANCE_DAYS = 1


def julian_to_date(year: int, day: int) -> date | None:
    """The date of Julian `day` (1-366) in `year`; None when that day does not exist."""
    if not MINYEAR <= year <= MAXYEAR or not 1 <= day <= 366:
        return None
    if day == 366 and not calendar.isleap(year):
        return None
    return date.fromordinal(date(year, 1, 1).toordinal() + day - 1)


def julian_day(value: date) -> int:
    """Day of the year, 1-366."""
    return value.toordinal() - date(value.year, 1, 1).toordinal() + 1


def issue_date(year_digit: int, day: int, scan: date) -> date | None:
    """Date of issue from the year's last digit: the nearest such date not after the scan date.

    None when Julian `day` does not exist in that year (366 outside a leap year).
    """
    year = scan.year - (scan.year - year_digit) % 10
    # Day 366 of a common year counts as the day after 31 December while placing the year, and
    # is refused afterwards rather than moved to another decade.
    if _ordinal(year, day) > scan.toordinal() + _ISSUE_TOLERANCE_DAYS:
        year -= 10
    return julian_to_date(year, day)


def flight_date(day: int, scan: date, issued: date | None) -> date | None:
    """Date of the flight on Julian `day`; None when the year chosen has no such day.

    With a date of issue: the first such date on or after it. Without: the one nearest the scan
    date among the years before, of and after the scan. As for the date of issue, day 366 of a
    common year places the year like the day after 31 December, then is refused.
    """
    if not 1 <= day <= 366:
        return None
    if issued is not None:
        year = issued.year
        if _ordinal(year, day) < issued.toordinal():
            year += 1
        return julian_to_date(year, day)
    target = scan.toordinal()
    best = scan.year
    best_distance = abs(_ordinal(best, day) - target)
    for year in (scan.year - 1, scan.year + 1):
        distance = abs(_ordinal(year, day) - target)
        # On an exact tie the later date wins: passes are usually scanned before the flight.
        if distance < best_distance or (distance == best_distance and year > best):
            best, best_distance = year, distance
    return julian_to_date(best, day)


def _ordinal(year: int, day: int) -> int:
    """Proleptic ordinal of Julian `day` in `year`, counting on past 31 December if need be."""
    if not MINYEAR <= year <= MAXYEAR:
        # Out of the calendar: never nearest, never on or after a real date of issue.
        return -(10**9) if year < MINYEAR else 10**9
    return date(year, 1, 1).toordinal() + day - 1


def julian(raw: str) -> int:
    """The Julian day written as three digits 001-366; 0 when `raw` is not one."""
    if len(raw) != 3 or not raw.isdigit():
        return 0
    day = int(raw)
    return day if day <= 366 else 0


def flight_iso(raw: str, scan: date, issued: date | None) -> str | None:
    """ISO date of the flight on the three-digit Julian day `raw`; None when there is none."""
    day = julian(raw)
    found = flight_date(day, scan, issued) if day else None
    return None if found is None else found.isoformat()


@lru_cache(maxsize=64)
def flight_days(scan: date, issued: date | None) -> dict[str, str]:
    """The flight dates met so far at one scan date and date of issue: three-digit Julian day
    -> ISO date, filled by `remember_flight` (so never more than 366 entries). A parser looks a
    leg's day up here, with one string hash, instead of in a cache keyed by all three."""
    return {}


def remember_flight(days: dict[str, str], raw: str, scan: date, issued: date | None) -> str | None:
    """`flight_iso`, kept in `days` (the dict of `scan` and `issued`) when there is one."""
    iso = flight_iso(raw, scan, issued)
    if iso is not None:
        days[raw] = iso
    return iso


@lru_cache(maxsize=4096)
def issue_from_raw(raw: str, scan: date) -> date | None:
    """Date of issue written as a year digit and three-digit Julian day; None when there is none."""
    if len(raw) != 4 or not "0" <= raw[0] <= "9":
        return None
    day = julian(raw[1:])
    return issue_date(ord(raw[0]) - ord("0"), day, scan) if day else None
