"""Validation of barcode reads from frames: 1D decoders deliver truncated reads now and then.

A read that fails is dropped with a reason code, never delivered:

- ``too_short``: fewer characters than the symbology's minimum (a partial scan of a 1D code);
- ``bad_characters``: letters where EAN/UPC or ITF allow digits only;
- ``bad_length``: an EAN/UPC read of a length no EAN/UPC variant has;
- ``odd_length``: an ITF read of an odd number of digits (ITF encodes digit pairs);
- ``check_digit``: the EAN/UPC check digit, or the ITF mod-10 check digit when configured, is
  wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from drivers.camera.codes import KNOWN_FORMATS, CodeRead

__all__ = [
    "DEFAULT_MIN_LENGTH",
    "REASONS",
    "ReadRules",
    "check_read",
    "gtin_check_digit",
    "upce_to_upca",
]

REASONS = ("too_short", "bad_characters", "bad_length", "odd_length", "check_digit")
# Minimum payload lengths: short 1D reads are the usual shape of a partial scan. Symbologies
# not named here need one character.
DEFAULT_MIN_LENGTH: Mapping[str, int] = MappingProxyType(
    {"itf": 6, "code39": 4, "code128": 4, "code93": 4, "codabar": 4}
)
_EAN_LENGTHS = frozenset((8, 12, 13))


@dataclass(frozen=True, slots=True)
class ReadRules:
    """What a read must satisfy to be delivered.

    `min_length` replaces the defaults for the symbologies it names; `itf_check_digit` asks for
    the GS1 mod-10 check digit as the last ITF digit (ITF-14 cartons, most ITF labels).
    """

    min_length: Mapping[str, int] = field(default_factory=dict)
    itf_check_digit: bool = False

    def __post_init__(self) -> None:
        for name, length in self.min_length.items():
            if name not in KNOWN_FORMATS:
                raise ValueError(f"min_length: unknown barcode format {name!r}")
            if isinstance(length, bool) or not isinstance(length, int) or length < 1:
                raise ValueError(f"min_length.{name}: expected an integer >= 1, got {length!r}")

    def minimum(self, symbology: str) -> int:
        """The fewest payload bytes a read of `symbology` may have."""
        return self.min_length.get(symbology, DEFAULT_MIN_LENGTH.get(symbology, 1))


def gtin_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of `digits` (weights 3, 1, 3... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return -total % 10


def upce_to_upca(upce: str) -> str:
    """The 12-digit UPC-A a 8-digit UPC-E (number system, six digits, check digit) stands for."""
    system, body, check = upce[0], upce[1:7], upce[7]
    last = body[5]
    if last in "012":
        core = f"{body[0:2]}{last}0000{body[2:5]}"
    elif last == "3":
        core = f"{body[0:3]}00000{body[3:5]}"
    elif last == "4":
        core = f"{body[0:4]}00000{body[4]}"
    else:
        core = f"{body[0:5]}0000{last}"
    return f"{system}{core}{check}"


def _ean_upc(digits: str, variant: str) -> str | None:
    if len(digits) not in _EAN_LENGTHS:
        return "bad_length"
    if len(digits) == 8 and variant == "upce":
        if digits[0] not in "01":
            return "check_digit"
        digits = upce_to_upca(digits)
    return None if gtin_check_digit(digits[:-1]) == int(digits[-1]) else "check_digit"


def _itf(digits: str, rules: ReadRules) -> str | None:
    if len(digits) % 2:
        return "odd_length"
    if rules.itf_check_digit and gtin_check_digit(digits[:-1]) != int(digits[-1]):
        return "check_digit"
    return None


def check_read(read: CodeRead, rules: ReadRules) -> str | None:
    """The reason code `read` is refused for, or None when it may be delivered."""
    if len(read.payload) < rules.minimum(read.symbology):
        return "too_short"
    if read.symbology in ("ean_upc", "itf"):
        if not (read.payload.isascii() and read.payload.isdigit()):
            return "bad_characters"
        digits = read.payload.decode("ascii")
        if read.symbology == "itf":
            return _itf(digits, rules)
        return _ean_upc(digits, read.variant)
    return None
