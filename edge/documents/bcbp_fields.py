"""IATA Resolution 792 (BCBP) field tables: element names, widths and offsets inside each item."""

from __future__ import annotations

from typing import Final

FORMAT_CODE: Final = "M"
MAX_LEGS: Final = 4
LATEST_VERSION: Final = 8
CONDITIONAL_MARKER: Final = ">"
SECURITY_MARKER: Final = "^"

# Format code (1), number of legs (1), passenger name (20), electronic ticket indicator (1).
HEADER_LENGTH: Final = 23
NAME_WIDTH: Final = 20
# Mandatory repeated items of one leg, item 6 (hex size of the variable part) included.
LEG_LENGTH: Final = 37
# `>`, version number, item 10.
CONDITIONAL_HEADER_LENGTH: Final = 4
# `^`, type of security data, hex length.
SECURITY_HEADER_LENGTH: Final = 4
# Item 6, 10, 17 and the security length are two hexadecimal digits.
MAX_SIZE: Final = 0xFF

Layout = tuple[tuple[str, int, int], ...]

LEG_FIELDS: Final[tuple[tuple[str, int], ...]] = (
    ("operating_carrier_pnr", 7),
    ("from_airport", 3),
    ("to_airport", 3),
    ("operating_carrier_designator", 3),
    ("flight_number", 5),
    ("date_of_flight", 3),
    ("compartment_code", 1),
    ("seat_number", 4),
    ("check_in_sequence_number", 5),
    ("passenger_status", 1),
)

# Inside item 10 (leg 1 only), in order; a pass may stop after any of them.
UNIQUE_FIELDS: Final[tuple[tuple[str, int], ...]] = (
    ("passenger_description", 1),
    ("source_of_check_in", 1),
    ("source_of_boarding_pass_issuance", 1),
    ("date_of_issue_of_boarding_pass", 4),
    ("document_type", 1),
    ("airline_designator_of_boarding_pass_issuer", 3),
    ("baggage_tag_license_plate_numbers", 13),
    ("first_non_consecutive_baggage_tag_license_plate_numbers", 13),
    ("second_non_consecutive_baggage_tag_license_plate_numbers", 13),
)

# Inside item 17 (every leg), in order; a pass may stop after any of them.
REPEATED_FIELDS: Final[tuple[tuple[str, int], ...]] = (
    ("airline_numeric_code", 3),
    ("document_form_serial_number", 10),
    ("selectee_indicator", 1),
    ("international_document_verification", 1),
    ("marketing_carrier_designator", 3),
    ("frequent_flyer_airline_designator", 3),
    ("frequent_flyer_number", 16),
    ("id_ad_indicator", 1),
    ("free_baggage_allowance", 3),
    ("fast_track", 1),
)


def layout(fields: tuple[tuple[str, int], ...]) -> Layout:
    """(name, start, end) of each field, offsets relative to the start of its item."""
    out: list[tuple[str, int, int]] = []
    start = 0
    for name, width in fields:
        out.append((name, start, start + width))
        start += width
    return tuple(out)


LEG_LAYOUT: Final = layout(LEG_FIELDS)
UNIQUE_LAYOUT: Final = layout(UNIQUE_FIELDS)
REPEATED_LAYOUT: Final = layout(REPEATED_FIELDS)
# Offset of item 6 inside a leg's mandatory items.
ITEM_6_OFFSET: Final = LEG_LAYOUT[-1][2]
DATE_OF_FLIGHT_OFFSET: Final = dict((n, s) for n, s, _ in LEG_LAYOUT)["date_of_flight"]
DATE_OF_ISSUE_OFFSET: Final = dict((n, s) for n, s, _ in UNIQUE_LAYOUT)[
    "date_of_issue_of_boarding_pass"
]


Reader = tuple[tuple[str, int | slice], ...]


def field_key(start: int, end: int) -> int | slice:
    """Subscript of a field: an index when it is one character (no new string), else a slice."""
    return start if end - start == 1 else slice(start, end)


def readers_by_size(layout: Layout) -> tuple[Reader | None, ...]:
    """For each item size 0-255: (name, subscript) of the fields an item of that size holds;
    None when the size cuts a field or runs past the last one."""
    full = layout[-1][2]
    return tuple(
        None
        if size > full or any(s < size < e for _, s, e in layout)
        else tuple((name, field_key(s, e)) for name, s, e in layout if e <= size)
        for size in range(MAX_SIZE + 1)
    )


UNIQUE_READERS: Final = readers_by_size(UNIQUE_LAYOUT)
REPEATED_READERS: Final = readers_by_size(REPEATED_LAYOUT)
# Subscripts of the mandatory items inside a leg's LEG_LENGTH characters, in LEG_FIELDS order.
LEG_KEYS: Final = tuple(field_key(s, e) for _, s, e in LEG_LAYOUT)
