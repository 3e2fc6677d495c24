"""BCBP flight-date year inference: scan date, date-of-issue digit, roll-over, day 366."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.documents.bcbp import encode_bcbp, parse_bcbp
from edge.documents.bcbp_dates import flight_date, flight_days, flight_iso, issue_date, julian_day
from edge.documents.result import Check

LEG: dict[str, Any] = {
    "operating_carrier_pnr": "ZZ9ZZ9",
    "from_airport": "GVA",
    "to_airport": "AMS",
    "operating_carrier_designator": "LX",
    "flight_number": "0123",
    "compartment_code": "Y",
    "seat_number": "012C",
    "check_in_sequence_number": "0042",
    "passenger_status": "1",
}


def make_pass(*days: str, issue: str | None = None) -> str:
    """A pass whose legs fly on the raw Julian `days`, with a raw date of issue if given."""
    fields: dict[str, Any] = {
        "passenger_name": "SPECIMEN/ALEX",
        "electronic_ticket_indicator": "E",
        "legs": [{**LEG, "date_of_flight_julian": day} for day in days],
    }
    if issue is not None:
        fields["date_of_issue_of_boarding_pass_julian"] = issue
    return encode_bcbp(fields)


def flights(text: str, scan: date) -> list[str]:
    result = parse_bcbp(text, scan_date=scan)
    assert result.valid, result.errors
    return [leg["date_of_flight"] for leg in result.fields["legs"]]


@pytest.mark.parametrize(
    ("scan", "day", "expected"),
    [
        (date(2025, 3, 14), "073", "2025-03-14"),
        # December scan, January flight: next year.
        (date(2024, 12, 30), "002", "2025-01-02"),
        # January scan, December flight: previous year (2024 is a leap year: day 364 = 29 Dec).
        (date(2025, 1, 2), "364", "2024-12-29"),
        (date(2025, 1, 2), "365", "2024-12-30"),
        # Half a year either way stays in the scan's year.
        (date(2025, 7, 1), "001", "2025-01-01"),
        (date(2025, 7, 1), "365", "2025-12-31"),
    ],
)
def test_year_nearest_scan_date_without_issue_date(scan: date, day: str, expected: str) -> None:
    assert flights(make_pass(day), scan) == [expected]


def test_legs_crossing_new_year_each_get_their_year() -> None:
    assert flights(make_pass("365", "001"), date(2025, 12, 31)) == ["2025-12-31", "2026-01-01"]


def test_raw_julian_day_kept_with_leading_zeros() -> None:
    result = parse_bcbp(make_pass("005"), scan_date=date(2025, 1, 3))
    leg = result.fields["legs"][0]
    assert leg["date_of_flight_julian"] == "005"
    assert leg["date_of_flight"] == "2025-01-05"


@pytest.mark.parametrize(
    ("scan", "issue", "day", "issued", "expected"),
    [
        # Issued 30 Dec 2024 (digit 4, leap year day 365), flying 3 Jan: the next year.
        (date(2025, 1, 3), "4365", "003", "2024-12-30", "2025-01-03"),
        # Flight on the day of issue.
        (date(2025, 3, 14), "5073", "073", "2025-03-14", "2025-03-14"),
        # The digit names a year a decade back when this year's date is still to come.
        (date(2025, 3, 1), "5100", "101", "2015-04-10", "2015-04-11"),
        # Digit 9 seen in 2025: 2019, the nearest year ending in 9 that is not after the scan.
        (date(2025, 6, 1), "9200", "210", "2019-07-19", "2019-07-29"),
        # Issued east of UTC: the local date may run a day ahead of the UTC scan date.
        (date(2025, 3, 1), "5061", "061", "2025-03-02", "2025-03-02"),
        # Issued far ahead of a flight early the next year, which the scan date alone would
        # have placed in the past.
        (date(2025, 12, 20), "5200", "010", "2025-07-19", "2026-01-10"),
    ],
)
def test_year_from_date_of_issue(
    scan: date, issue: str, day: str, issued: str, expected: str
) -> None:
    result = parse_bcbp(make_pass(day, issue=issue), scan_date=scan)
    assert result.valid, result.errors
    assert result.fields["date_of_issue_of_boarding_pass"] == issued
    assert result.fields["date_of_issue_of_boarding_pass_julian"] == issue
    assert result.fields["legs"][0]["date_of_flight"] == expected


def test_issue_date_beats_nearest_year() -> None:
    # Without the date of issue, day 010 scanned on 20 Dec 2025 would be 10 Jan 2026 too; with
    # an issue date of 5 Jan 2025 the first such date on or after it is 10 Jan 2025.
    assert flights(make_pass("010", issue="5005"), date(2025, 12, 20)) == ["2025-01-10"]
    assert flights(make_pass("010"), date(2025, 12, 20)) == ["2026-01-10"]


def test_blank_date_of_issue_falls_back_to_scan_date() -> None:
    result = parse_bcbp(make_pass("002", issue=""), scan_date=date(2024, 12, 30))
    assert result.valid
    assert result.fields["date_of_issue_of_boarding_pass"] == ""
    assert result.fields["date_of_issue_of_boarding_pass_julian"] == ""
    assert result.fields["legs"][0]["date_of_flight"] == "2025-01-02"


@pytest.mark.parametrize(
    ("scan", "expected"),
    [
        (date(2024, 12, 30), "2024-12-31"),
        # January of the year after a leap year: back to 31 Dec.
        (date(2025, 1, 2), "2024-12-31"),
        (date(2024, 7, 2), "2024-12-31"),
        # Mid-2025: 31 Dec 2024 is nearer than the day after 31 Dec 2025 would be.
        (date(2025, 6, 1), "2024-12-31"),
    ],
)
def test_day_366_in_leap_year(scan: date, expected: str) -> None:
    assert flights(make_pass("366"), scan) == [expected]


@pytest.mark.parametrize("scan", [date(2025, 9, 1), date(2026, 12, 30), date(2023, 12, 31)])
def test_day_366_outside_leap_year_is_an_error(scan: date) -> None:
    result = parse_bcbp(make_pass("366"), scan_date=scan)
    assert not result.valid
    assert [(e.code, e.column) for e in result.errors] == [("bad_date", 45)]
    assert "366" in result.errors[0].message
    assert result.checks["structure"] is Check.PASSED
    assert result.checks["dates"] is Check.FAILED
    leg = result.fields["legs"][0]
    assert "date_of_flight" not in leg
    assert leg["date_of_flight_julian"] == "366"


def test_day_366_with_issue_date() -> None:
    assert flights(make_pass("366", issue="4360"), date(2025, 1, 2)) == ["2024-12-31"]
    # Issued in 2025 (common year): no 31 December as day 366.
    result = parse_bcbp(make_pass("366", issue="5360"), scan_date=date(2025, 12, 28))
    assert [e.code for e in result.errors] == ["bad_date"]


def test_date_of_issue_day_366_in_common_year_is_an_error() -> None:
    # Digit 5: 2025 is a common year.
    result = parse_bcbp(make_pass("002", issue="5366"), scan_date=date(2026, 1, 2))
    assert not result.valid
    assert [(e.code, e.column) for e in result.errors] == [("bad_date", 60 + 4 + 3 + 1)]
    assert "date_of_issue_of_boarding_pass" not in result.fields
    assert result.fields["date_of_issue_of_boarding_pass_julian"] == "5366"
    # Digit 4: 2024 is a leap year.
    assert flights(make_pass("002", issue="4366"), date(2025, 1, 2)) == ["2025-01-02"]


@pytest.mark.parametrize("day", ["000", "367", "999", "12A", " 12", "   "])
def test_day_out_of_range_is_an_error(day: str) -> None:
    result = parse_bcbp(make_pass(day), scan_date=date(2025, 1, 1))
    assert not result.valid
    assert [(e.code, e.column) for e in result.errors] == [("bad_date", 45)]
    assert result.fields["legs"][0]["date_of_flight_julian"] == day


@pytest.mark.parametrize("issue", ["X123", "5000", "5367", "512", "5 12"])
def test_malformed_date_of_issue_is_an_error(issue: str) -> None:
    result = parse_bcbp(make_pass("002", issue=issue), scan_date=date(2025, 1, 1))
    assert [e.code for e in result.errors] == ["bad_date"]
    assert result.checks["dates"] is Check.FAILED
    # The flights are still placed, by the scan date alone.
    assert result.fields["legs"][0]["date_of_flight"] == "2025-01-02"


@given(
    scan=st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)),
    offset=st.integers(min_value=-180, max_value=180),
)
def test_nearest_year_property(scan: date, offset: int) -> None:
    flight = scan + timedelta(days=offset)
    assert flight_date(julian_day(flight), scan, None) == flight


@given(
    scan=st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)),
    age=st.integers(min_value=-1, max_value=3000),
    ahead=st.integers(min_value=0, max_value=364),
)
def test_issue_date_property(scan: date, age: int, ahead: int) -> None:
    issued = scan - timedelta(days=age)
    assert issue_date(issued.year % 10, julian_day(issued), scan) == issued
    flight = issued + timedelta(days=ahead)
    assert flight_date(julian_day(flight), scan, issued) == flight


def test_flight_days_keep_only_days_that_exist_per_scan_date_and_issue() -> None:
    scan, issued = date(2031, 6, 1), date(2031, 5, 30)  # 2031 has no day 366
    days = ["001", "200", "365", "366", "367", "000", "12A", "200"]
    for day in days:
        parse_bcbp(make_pass(day), scan_date=scan)
        parse_bcbp(make_pass(day, issue="1150"), scan_date=scan)
    around, after = flight_days(scan, None), flight_days(scan, issued)
    assert set(around) == set(after) == {"001", "200", "365"}
    for day in around:
        assert around[day] == flight_iso(day, scan, None)
        assert after[day] == flight_iso(day, scan, issued)
    # The same day, another year: the nearest to the scan date, or the first after the issue.
    assert (around["001"], after["001"]) == ("2031-01-01", "2032-01-01")
