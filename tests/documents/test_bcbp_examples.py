"""BCBP parser against IATA's published examples (implementation guide, Res. 792 Attachment B)."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import pytest

from edge.documents.bcbp import encode_bcbp, parse_bcbp
from edge.documents.result import Check, ParseResult

GUIDE_MANDATORY = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 226F001A0025 100"
SECURITY = (
    "GIWVC5EH7JNT684FVNJ91W2QA4DVN5J8K4F0L0GEQ3DF5TGBN8709HKT5D3DW3GBHFCVHMY7J5T6HFR41W2QA4DVN5J8K"
    "4F0L0GE"
)
# Res. 792 Attachment B, example 1: M1 with mandatory items and the security section.
B_EXAMPLE_1 = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100^164" + SECURITY
# Res. 792 Attachment B, example 2: two legs with conditional items and the security section.
B_EXAMPLE_2 = (
    "M2DESMARAIS/LUC       EABC123 YULFRAAC 0834 226F001A0025 14D>6181WW6225BAC 0014123456003"
    "2A0141234567890 1AC AC 1234567890123    20KYLX58Z"
    "DEF456 FRAGVALH 3664 227C012C0002 12E2A0140987654321 1AC AC 1234567890123    2PCNWQ"
    "^164" + SECURITY
)
# Attachment B 1.1 (home printed, version 2) and 3.1 (mobile): no fast track field.
B_1_1 = (
    "M1TEST/HIDDEN         E8OQ6FU FRARLGLH 4010 012C004D0001 35C>2180WW6012BLH              "
    "2922023642241060 LH                        *30600000K09         "
)
B_3_1 = B_1_1.replace(">2180WW6012", ">2180WM6012")
# Attachment B 1.2 (version 5): item 10 holds only three fields, item 17 only two.
B_1_2 = "M1TEST/PETER          E24Z5RN AMSBRUKL 1733 019M008A0001 316>503  W0D0742497067621"
# Attachment B 2.1 (kiosk, version 3).
B_2_1 = (
    "M1ASKREN/TEST         EA272SL ORDNRTUA 0881 007F002K0303 15C>3180 K6007BUA              "
    "2901624760758980 UA UA EY975897            *30600    09  UAG    "
)

MANDATORY_LEG_1 = {
    "operating_carrier_pnr": "ABC123",
    "from_airport": "YUL",
    "to_airport": "FRA",
    "operating_carrier_designator": "AC",
    "flight_number": "0834",
    "compartment_code": "F",
    "seat_number": "001A",
    "check_in_sequence_number": "0025",
    "passenger_status": "1",
}


def parse(text: str, scan: date) -> ParseResult:
    result = parse_bcbp(text, scan_date=scan)
    assert result.errors == [], result.errors
    assert result.warnings == []
    assert result.valid
    assert result.format == "bcbp"
    assert result.corrections == []
    assert result.checks["structure"] is Check.PASSED
    assert result.checks["dates"] is Check.PASSED
    return result


def test_guide_mandatory_only_single_leg() -> None:
    result = parse(GUIDE_MANDATORY, date(2016, 8, 14))
    assert result.fields == {
        "format_code": "M",
        "number_of_legs": 1,
        "passenger_name": "DESMARAIS/LUC",
        "electronic_ticket_indicator": "E",
        "legs": [
            {**MANDATORY_LEG_1, "date_of_flight": "2016-08-13", "date_of_flight_julian": "226"}
        ],
    }
    assert result.checks["security_signature"] is Check.NOT_APPLICABLE


def test_attachment_b_example_1_security_section() -> None:
    result = parse(B_EXAMPLE_1, date(2016, 11, 20))
    assert result.fields == {
        "format_code": "M",
        "number_of_legs": 1,
        "passenger_name": "DESMARAIS/LUC",
        "electronic_ticket_indicator": "E",
        "legs": [
            {
                **MANDATORY_LEG_1,
                "compartment_code": "J",
                "date_of_flight": "2016-11-21",
                "date_of_flight_julian": "326",
            }
        ],
        "security_data_type": "1",
        "security_data": SECURITY,
    }
    assert len(SECURITY) == 0x64
    # Kept for forwarding, never claimed verified: no airline key.
    assert result.checks["security_signature"] is Check.NOT_SUPPORTED


def test_attachment_b_example_2_two_legs_conditional_items() -> None:
    result = parse(B_EXAMPLE_2, date(2016, 8, 14))
    assert result.fields == {
        "format_code": "M",
        "number_of_legs": 2,
        "passenger_name": "DESMARAIS/LUC",
        "electronic_ticket_indicator": "E",
        "version_number": 6,
        "passenger_description": "1",
        "source_of_check_in": "W",
        "source_of_boarding_pass_issuance": "W",
        "date_of_issue_of_boarding_pass": "2016-08-12",
        "date_of_issue_of_boarding_pass_julian": "6225",
        "document_type": "B",
        "airline_designator_of_boarding_pass_issuer": "AC",
        "baggage_tag_license_plate_numbers": "0014123456003",
        "legs": [
            {
                **MANDATORY_LEG_1,
                "date_of_flight": "2016-08-13",
                "date_of_flight_julian": "226",
                "airline_numeric_code": "014",
                "document_form_serial_number": "1234567890",
                "selectee_indicator": "",
                "international_document_verification": "1",
                "marketing_carrier_designator": "AC",
                "frequent_flyer_airline_designator": "AC",
                "frequent_flyer_number": "1234567890123",
                "id_ad_indicator": "",
                "free_baggage_allowance": "20K",
                "fast_track": "Y",
                "airline_individual_use": "LX58Z",
            },
            {
                "operating_carrier_pnr": "DEF456",
                "from_airport": "FRA",
                "to_airport": "GVA",
                "operating_carrier_designator": "LH",
                "flight_number": "3664",
                "date_of_flight": "2016-08-14",
                "date_of_flight_julian": "227",
                "compartment_code": "C",
                "seat_number": "012C",
                "check_in_sequence_number": "0002",
                "passenger_status": "1",
                "airline_numeric_code": "014",
                "document_form_serial_number": "0987654321",
                "selectee_indicator": "",
                "international_document_verification": "1",
                "marketing_carrier_designator": "AC",
                "frequent_flyer_airline_designator": "AC",
                "frequent_flyer_number": "1234567890123",
                "id_ad_indicator": "",
                "free_baggage_allowance": "2PC",
                "fast_track": "N",
                "airline_individual_use": "WQ",
            },
        ],
        "security_data_type": "1",
        "security_data": SECURITY,
    }
    assert result.checks["security_signature"] is Check.NOT_SUPPORTED


def test_attachment_b_example_2_size_arithmetic() -> None:
    # Leg 1: item 6 = 4 (`>`, version, item 10) + 24 + 2 (item 17) + 42 + 5 (airline use).
    assert B_EXAMPLE_2[58:60] == "4D"
    assert 4 + 0x18 + 2 + 0x2A + len("LX58Z") == 0x4D
    # Leg 2: item 6 = 2 (item 17) + 42 + 2 (airline use).
    assert B_EXAMPLE_2[60 + 0x4D + 35 : 60 + 0x4D + 37] == "2E"
    assert 2 + 0x2A + len("WQ") == 0x2E


LH_LEG = {
    "operating_carrier_pnr": "8OQ6FU",
    "from_airport": "FRA",
    "to_airport": "RLG",
    "operating_carrier_designator": "LH",
    "flight_number": "4010",
    "date_of_flight": "2016-01-12",
    "date_of_flight_julian": "012",
    "compartment_code": "C",
    "seat_number": "004D",
    "check_in_sequence_number": "0001",
    "passenger_status": "3",
    "airline_numeric_code": "220",
    "document_form_serial_number": "2364224106",
    "selectee_indicator": "0",
    "international_document_verification": "",
    "marketing_carrier_designator": "LH",
    "frequent_flyer_airline_designator": "",
    "frequent_flyer_number": "",
    "id_ad_indicator": "",
    "free_baggage_allowance": "",
    "airline_individual_use": "*30600000K09         ",
}


@pytest.mark.parametrize(("text", "issuance"), [(B_1_1, "W"), (B_3_1, "M")])
def test_attachment_b_lufthansa_version_2(text: str, issuance: str) -> None:
    result = parse(text, date(2016, 1, 12))
    assert result.fields == {
        "format_code": "M",
        "number_of_legs": 1,
        "passenger_name": "TEST/HIDDEN",
        "electronic_ticket_indicator": "E",
        "version_number": 2,
        "passenger_description": "0",
        "source_of_check_in": "W",
        "source_of_boarding_pass_issuance": issuance,
        "date_of_issue_of_boarding_pass": "2016-01-12",
        "date_of_issue_of_boarding_pass_julian": "6012",
        "document_type": "B",
        "airline_designator_of_boarding_pass_issuer": "LH",
        "baggage_tag_license_plate_numbers": "",
        "legs": [LH_LEG],
    }
    # Version 2 has no fast track: item 17 stops after the free baggage allowance.
    assert "fast_track" not in result.fields["legs"][0]


def test_attachment_b_klm_short_conditional_items() -> None:
    result = parse(B_1_2, date(2016, 1, 18))
    assert result.fields == {
        "format_code": "M",
        "number_of_legs": 1,
        "passenger_name": "TEST/PETER",
        "electronic_ticket_indicator": "E",
        "version_number": 5,
        "passenger_description": "",
        "source_of_check_in": "",
        "source_of_boarding_pass_issuance": "W",
        "legs": [
            {
                "operating_carrier_pnr": "24Z5RN",
                "from_airport": "AMS",
                "to_airport": "BRU",
                "operating_carrier_designator": "KL",
                "flight_number": "1733",
                # No date of issue: the year nearest the scan date.
                "date_of_flight": "2016-01-19",
                "date_of_flight_julian": "019",
                "compartment_code": "M",
                "seat_number": "008A",
                "check_in_sequence_number": "0001",
                "passenger_status": "3",
                "airline_numeric_code": "074",
                "document_form_serial_number": "2497067621",
            }
        ],
    }


def test_attachment_b_kiosk_version_3() -> None:
    result = parse(B_2_1, date(2016, 1, 7))
    fields = result.fields
    assert fields["version_number"] == 3
    assert fields["passenger_description"] == "0"
    assert fields["source_of_check_in"] == ""
    assert fields["source_of_boarding_pass_issuance"] == "K"
    assert fields["date_of_issue_of_boarding_pass"] == "2016-01-07"
    assert fields["date_of_issue_of_boarding_pass_julian"] == "6007"
    assert fields["document_type"] == "B"
    assert fields["airline_designator_of_boarding_pass_issuer"] == "UA"
    assert fields["baggage_tag_license_plate_numbers"] == ""
    assert "first_non_consecutive_baggage_tag_license_plate_numbers" not in fields
    assert fields["legs"] == [
        {
            "operating_carrier_pnr": "A272SL",
            "from_airport": "ORD",
            "to_airport": "NRT",
            "operating_carrier_designator": "UA",
            "flight_number": "0881",
            "date_of_flight": "2016-01-07",
            "date_of_flight_julian": "007",
            "compartment_code": "F",
            "seat_number": "002K",
            "check_in_sequence_number": "0303",
            "passenger_status": "1",
            "airline_numeric_code": "016",
            "document_form_serial_number": "2476075898",
            "selectee_indicator": "0",
            "international_document_verification": "",
            "marketing_carrier_designator": "UA",
            "frequent_flyer_airline_designator": "UA",
            "frequent_flyer_number": "EY975897",
            "id_ad_indicator": "",
            "free_baggage_allowance": "",
            "airline_individual_use": "*30600    09  UAG    ",
        }
    ]


ALL_EXAMPLES = [
    (GUIDE_MANDATORY, date(2016, 8, 14)),
    (B_EXAMPLE_1, date(2016, 11, 20)),
    (B_EXAMPLE_2, date(2016, 8, 14)),
    (B_1_1, date(2016, 1, 12)),
    (B_1_2, date(2016, 1, 18)),
    (B_2_1, date(2016, 1, 7)),
    (B_3_1, date(2016, 1, 12)),
]


@pytest.mark.parametrize(("text", "scan"), ALL_EXAMPLES)
def test_examples_re_encode_byte_for_byte(text: str, scan: date) -> None:
    assert encode_bcbp(parse(text, scan).fields) == text


@pytest.mark.parametrize(("text", "scan"), ALL_EXAMPLES)
def test_bytes_input_parses_like_text(text: str, scan: date) -> None:
    assert parse_bcbp(text.encode("ascii"), scan_date=scan) == parse(text, scan)
    mutable = bytearray(text, "ascii")  # as serial reads return
    assert parse_bcbp(mutable, scan_date=scan) == parse(text, scan)  # type: ignore[arg-type]  # bytearray is accepted at run time


def test_result_serializes_to_json() -> None:
    result = parse(B_EXAMPLE_2, date(2016, 8, 14))
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(result))
    assert decoded["valid"] is True
    assert decoded["format"] == "bcbp"
    assert decoded["fields"]["legs"][1]["date_of_flight"] == "2016-08-14"
    assert decoded["checks"] == {
        "structure": "passed",
        "dates": "passed",
        "security_signature": "not_supported",
    }


def test_default_scan_date_is_today() -> None:
    result = parse_bcbp(GUIDE_MANDATORY)
    assert result.valid
    flight = date.fromisoformat(result.fields["legs"][0]["date_of_flight"])
    assert flight.strftime("%j") == "226"
    assert abs((flight - date.today()).days) <= 184
