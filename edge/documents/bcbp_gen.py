"""Random valid BCBP passes with fictional passengers: for tests, fuzzing, benchmarks, the demo."""

from __future__ import annotations

import random
import string
from datetime import date, timedelta
from typing import Any

from edge.documents.bcbp_dates import julian_day
from edge.documents.bcbp_encode import encode_bcbp
from edge.documents.bcbp_fields import LATEST_VERSION, MAX_LEGS

__all__ = ["random_bcbp", "random_bcbp_fields"]

# Specimen and placeholder names only: never a real traveller's.
_SURNAMES = ("SPECIMEN", "SAMPLE", "TESTER", "EXAMPLE", "MUSTERMANN", "PLACEHOLDER", "DUMMY")
_GIVEN_NAMES = ("ALEX", "ERIKA", "MAX", "ROBIN", "SASHA", "KIM", "NOAH", "LEE")
_AIRPORTS = ("YUL", "FRA", "GVA", "AMS", "CDG", "LHR", "JFK", "NRT", "SIN", "DXB", "ORD", "MAD")
_CARRIERS = ("AC", "LH", "AF", "KL", "BA", "UA", "EK", "SQ", "LX", "IB", "U2", "9W")
_ALNUM = string.ascii_uppercase + string.digits
_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))


def random_bcbp_fields(
    rng: random.Random,
    *,
    scan_date: date,
    legs: int | None = None,
    conditional: bool | None = None,
    security: bool | None = None,
) -> dict[str, Any]:
    """Fields of a random valid pass, exactly as `parse_bcbp` returns them at `scan_date`."""
    count = legs if legs is not None else rng.randint(1, MAX_LEGS)
    with_conditional = conditional if conditional is not None else rng.random() < 0.5
    with_security = security if security is not None else rng.random() < 0.3
    # Flights within two months after an issue date up to three weeks old: both year rules
    # (with and without the date of issue) place them back in the same year.
    issued = scan_date - timedelta(days=rng.randint(0, 20))
    name = f"{rng.choice(_SURNAMES)}/{rng.choice(_GIVEN_NAMES)}"[:20]
    fields: dict[str, Any] = {
        "format_code": "M",
        "number_of_legs": count,
        "passenger_name": name,
        "electronic_ticket_indicator": "E",
        "legs": [_leg(rng, issued, with_conditional) for _ in range(count)],
    }
    if with_conditional:
        fields["version_number"] = rng.randint(1, LATEST_VERSION)
        unique = _unique(rng, issued)
        fields.update(unique[: rng.randint(0, len(unique))])
        if "date_of_issue_of_boarding_pass" in fields:
            fields["date_of_issue_of_boarding_pass_julian"] = (
                f"{issued.year % 10}{julian_day(issued):03d}"
            )
    if with_security:
        fields["security_data_type"] = "1"
        fields["security_data"] = _text(rng, _ALNUM, rng.randint(0, 100))
    return fields


def random_bcbp(
    rng: random.Random,
    *,
    scan_date: date,
    legs: int | None = None,
    conditional: bool | None = None,
    security: bool | None = None,
) -> str:
    """A random valid pass; see `random_bcbp_fields`."""
    return encode_bcbp(
        random_bcbp_fields(
            rng, scan_date=scan_date, legs=legs, conditional=conditional, security=security
        )
    )


def _text(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choices(alphabet, k=length))


def _leg(rng: random.Random, issued: date, conditional: bool) -> dict[str, Any]:
    flight = issued + timedelta(days=rng.randint(0, 60))
    origin, destination = rng.sample(_AIRPORTS, 2)
    leg: dict[str, Any] = {
        "operating_carrier_pnr": _text(rng, _ALNUM, 6),
        "from_airport": origin,
        "to_airport": destination,
        "operating_carrier_designator": rng.choice(_CARRIERS),
        "flight_number": f"{rng.randint(1, 9999):04d}" + rng.choice(("", "", "", "A")),
        "date_of_flight": flight.isoformat(),
        "compartment_code": rng.choice("FJCYM"),
        "seat_number": f"{rng.randint(1, 60):03d}{rng.choice('ABCDEFK')}",
        "check_in_sequence_number": f"{rng.randint(1, 9999):04d}",
        "passenger_status": rng.choice("0123"),
    }
    if conditional:
        carrier = leg["operating_carrier_designator"]
        repeated: list[tuple[str, str]] = [
            ("airline_numeric_code", f"{rng.randint(1, 999):03d}"),
            ("document_form_serial_number", _text(rng, string.digits, 10)),
            ("selectee_indicator", rng.choice(("", "0", "1", "3"))),
            ("international_document_verification", rng.choice(("", "0", "1"))),
            ("marketing_carrier_designator", carrier),
            ("frequent_flyer_airline_designator", rng.choice(("", carrier))),
            ("frequent_flyer_number", _text(rng, _ALNUM, rng.randint(0, 16))),
            ("id_ad_indicator", rng.choice(("", "0"))),
            ("free_baggage_allowance", rng.choice(("", "20K", "1PC", "2PC"))),
            ("fast_track", rng.choice(("", "Y", "N"))),
        ]
        leg.update(repeated[: rng.randint(0, len(repeated))])
        if rng.random() < 0.5:
            leg["airline_individual_use"] = _text(rng, _PRINTABLE, rng.randint(1, 30))
    leg["date_of_flight_julian"] = f"{julian_day(flight):03d}"
    return leg


def _unique(rng: random.Random, issued: date) -> list[tuple[str, str]]:
    tags = [f"{rng.randint(0, 9)}{_text(rng, string.digits, 12)}" for _ in range(3)]
    return [
        ("passenger_description", rng.choice("0123456789ABCXU")),
        ("source_of_check_in", rng.choice(("", "W", "K", "M", "O"))),
        ("source_of_boarding_pass_issuance", rng.choice(("", "W", "K", "M", "O"))),
        ("date_of_issue_of_boarding_pass", issued.isoformat()),
        ("document_type", rng.choice("BI")),
        ("airline_designator_of_boarding_pass_issuer", rng.choice(_CARRIERS)),
        ("baggage_tag_license_plate_numbers", rng.choice(("", tags[0]))),
        ("first_non_consecutive_baggage_tag_license_plate_numbers", tags[1]),
        ("second_non_consecutive_baggage_tag_license_plate_numbers", tags[2]),
    ]
