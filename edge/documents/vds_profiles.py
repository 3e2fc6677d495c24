"""Document feature tables of the visible digital seal profiles and their value decoders.

A profile is selected by the header's document feature definition reference and document type
category. Sources: ICAO Doc 9303 part 7 (visa, reference 0x5D / category 0x01), ICAO Doc 9303
part 13 (emergency travel document, 0x5E / 0x03) and BSI TR-03137 part 1 (the German profiles).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from edge.documents import c40

__all__ = [
    "PROFILES",
    "Coding",
    "FeatureSpec",
    "Profile",
    "decode_date",
    "decode_value",
    "encode_date",
    "find_profile",
]


class Coding(StrEnum):
    """How a feature value is turned into a field."""

    C40 = "c40"  # alphanumeric text
    MRZ = "mrz"  # C40 MRZ, possibly truncated; returned as full lines
    INT = "int"  # unsigned big-endian integer
    BYTES = "bytes"  # opaque binary, returned as hex
    UTF8 = "utf8"  # profile-specific UTF-8 text
    DURATION = "duration"  # visa duration of stay: days, months, years


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One document feature of a profile: its tag, name, coding and allowed value length."""

    tag: int
    name: str
    coding: Coding
    min_length: int
    max_length: int
    required: bool = False
    mrz_lines: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """A seal profile: the features a seal with this reference and category carries."""

    name: str
    feature_reference: int
    category: int
    features: tuple[FeatureSpec, ...]
    one_of: tuple[int, ...] = ()  # exactly one of these tags is required

    def spec(self, tag: int) -> FeatureSpec | None:
        """The feature definition for `tag`, or None when the profile does not know it."""
        for feature in self.features:
            if feature.tag == tag:
                return feature
        return None


_TD2_LINES = (36, 36)


def _mrz(tag: int, length: int, lines: tuple[int, ...], *, required: bool = True) -> FeatureSpec:
    return FeatureSpec(tag, "mrz", Coding.MRZ, length, length, required, lines)


_ICAO_VISA = Profile(
    "icao_visa",
    0x5D,
    0x01,
    (
        # Both visa MRZs are truncated to their first 28 characters of line 2.
        FeatureSpec(0x01, "mrz_mrv_a", Coding.MRZ, 48, 48, mrz_lines=(44, 44)),
        FeatureSpec(0x02, "mrz_mrv_b", Coding.MRZ, 44, 44, mrz_lines=(36, 36)),
        FeatureSpec(0x03, "number_of_entries", Coding.INT, 1, 1),
        FeatureSpec(0x04, "duration_of_stay", Coding.DURATION, 3, 3, required=True),
        FeatureSpec(0x05, "passport_number", Coding.C40, 6, 6, required=True),
        FeatureSpec(0x06, "visa_type", Coding.BYTES, 1, 4),
        FeatureSpec(0x07, "additional_feature", Coding.BYTES, 0, 254),
    ),
    one_of=(0x01, 0x02),
)

_ICAO_ETD = Profile("icao_emergency_travel_document", 0x5E, 0x03, (_mrz(0x02, 48, _TD2_LINES),))

_BSI_ARRIVAL_ATTESTATION = Profile(
    "bsi_arrival_attestation",
    0xFD,
    0x02,
    (_mrz(0x02, 48, _TD2_LINES), FeatureSpec(0x03, "azr_number", Coding.C40, 8, 8, required=True)),
)

_BSI_SOCIAL_INSURANCE = Profile(
    "bsi_social_insurance_card",
    0xFC,
    0x04,
    (
        FeatureSpec(0x01, "social_insurance_number", Coding.C40, 8, 8, required=True),
        FeatureSpec(0x02, "surname", Coding.UTF8, 1, 90, required=True),
        FeatureSpec(0x03, "first_name", Coding.UTF8, 1, 90, required=True),
        FeatureSpec(0x04, "birth_name", Coding.UTF8, 1, 90),
    ),
)

_BSI_RESIDENCE_PERMIT = Profile(
    "bsi_residence_permit",
    0xFB,
    0x06,
    (
        _mrz(0x02, 48, _TD2_LINES),
        FeatureSpec(0x03, "passport_number", Coding.C40, 6, 6, required=True),
    ),
)

_BSI_SUPPLEMENTARY_SHEET = Profile(
    "bsi_residence_permit_supplementary_sheet",
    0xFA,
    0x06,
    (
        _mrz(0x04, 48, _TD2_LINES),
        FeatureSpec(0x05, "sheet_number", Coding.C40, 6, 6, required=True),
    ),
)

_ADDRESS_FEATURES = (
    FeatureSpec(0x01, "document_number", Coding.C40, 6, 6, required=True),
    FeatureSpec(0x02, "municipality_code", Coding.C40, 6, 6, required=True),
    FeatureSpec(0x03, "residential_address", Coding.C40, 2, 254, required=True),
)

_BSI_ADDRESS_STICKER_ID = Profile("bsi_address_sticker_id_card", 0xF9, 0x08, _ADDRESS_FEATURES)
_BSI_ADDRESS_STICKER_RP = Profile(
    "bsi_address_sticker_residence_permit", 0xF9, 0x0C, _ADDRESS_FEATURES
)
_BSI_RESIDENCE_STICKER_PASSPORT = Profile(
    "bsi_residence_sticker_passport",
    0xF8,
    0x0A,
    (
        FeatureSpec(0x01, "document_number", Coding.C40, 6, 6, required=True),
        FeatureSpec(0x02, "municipality_code", Coding.C40, 6, 6, required=True),
        FeatureSpec(0x03, "postal_code", Coding.C40, 4, 4, required=True),
    ),
)

PROFILES: dict[tuple[int, int], Profile] = {
    (profile.feature_reference, profile.category): profile
    for profile in (
        _ICAO_VISA,
        _ICAO_ETD,
        _BSI_ARRIVAL_ATTESTATION,
        _BSI_SOCIAL_INSURANCE,
        _BSI_RESIDENCE_PERMIT,
        _BSI_SUPPLEMENTARY_SHEET,
        _BSI_ADDRESS_STICKER_ID,
        _BSI_ADDRESS_STICKER_RP,
        _BSI_RESIDENCE_STICKER_PASSPORT,
    )
}


def find_profile(feature_reference: int, category: int) -> Profile | None:
    """The profile for a header's feature definition reference and document type category."""
    return PROFILES.get((feature_reference, category))


def decode_date(data: bytes) -> dt.date:
    """Decode a 3-byte MMDDYYYY date; ValueError when it is not a calendar date."""
    if len(data) != 3:
        raise ValueError("a date takes 3 bytes")
    number = int.from_bytes(data, "big")
    month, rest = divmod(number, 1_000_000)
    day, year = divmod(rest, 10_000)
    return dt.date(year, month, day)


def encode_date(date: dt.date) -> bytes:
    """Encode a date as the 3-byte MMDDYYYY integer."""
    return (date.month * 1_000_000 + date.day * 10_000 + date.year).to_bytes(3, "big")


def decode_value(spec: FeatureSpec, value: bytes) -> object:
    """Decode one feature value by its coding; ValueError (C40Error included) when malformed."""
    match spec.coding:
        case Coding.C40:
            return c40.decode(value)
        case Coding.MRZ:
            return _decode_mrz(value, spec.mrz_lines)
        case Coding.INT:
            return int.from_bytes(value, "big")
        case Coding.UTF8:
            return value.decode("utf-8")
        case Coding.DURATION:
            if len(value) != 3:
                raise ValueError("a duration of stay takes 3 bytes")
            return {"days": value[0], "months": value[1], "years": value[2]}
        case Coding.BYTES:
            return value.hex().upper()


def _decode_mrz(value: bytes, lines: tuple[int, ...]) -> list[str]:
    # Visa seals keep only the first 28 characters of line 2; the rest is restored as fillers.
    text = c40.decode(value).replace(" ", "<")
    total = sum(lines)
    if len(text) > total:
        raise ValueError(f"MRZ holds {len(text)} characters, at most {total} expected")
    text = text.ljust(total, "<")
    out: list[str] = []
    start = 0
    for width in lines:
        out.append(text[start : start + width])
        start += width
    return out
