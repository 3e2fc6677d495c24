"""Symbology names from AIM identifiers (ISO/IEC 15424) and vendor code ids."""

from __future__ import annotations

# AIM code character → symbology. Key on the code character, never the modifier: the same
# QR code is reported as ]Q0 by one scanner and ]Q1 by another.
AIM_CODES: dict[str, str] = {
    "A": "code39",
    "C": "code128",
    "E": "ean_upc",
    "e": "gs1_databar",
    "F": "codabar",
    "G": "code93",
    "I": "itf",
    "S": "iata_2of5",
    "R": "straight_2of5",
    "L": "pdf417",
    "d": "datamatrix",
    "Q": "qr",
    "z": "aztec",
    "X": "other",
}
# Honeywell code id (one byte before the data in "Raw Data" mode) → symbology.
HONEYWELL_CODES: dict[int, str] = {
    0x62: "code39",
    0x65: "itf",
    0x66: "iata_2of5",
    0x6A: "code128",
    0x72: "pdf417",
    0x73: "qr",
    0x77: "datamatrix",
    0x7A: "aztec",
}
# Access-IS "Standard Access Configuration" symbology byte → symbology.
ACCESS_CODES: dict[int, str] = {
    0x31: "itf",
    0x32: "iata_2of5",
    0x33: "code39",
    0x34: "datamatrix",
    0x35: "code128",
    0x36: "pdf417",
    0x37: "qr",
    0x38: "aztec",
}


def aim_symbology(aim: str) -> str:
    """The symbology of an AIM identifier such as "]Q1"; "unknown" if not recognised."""
    if len(aim) == 3 and aim[0] == "]":
        return AIM_CODES.get(aim[1], "unknown")
    return "unknown"


def aim_for(symbology: str, modifier: str = "0") -> str:
    """An AIM identifier for a symbology name (simulators)."""
    for code, name in AIM_CODES.items():
        if name == symbology:
            return f"]{code}{modifier}"
    raise ValueError(f"no AIM code for {symbology!r}")
