"""ICAO 9303 check-digit arithmetic (Part 3 section 4.9) and the tables of the fast path.

Weights 7, 3, 1 repeating; ``0-9`` count 0-9, ``A-Z`` 10-35, ``<`` 0; the digit is the sum mod 10.

The fast path works on the MRZ translated to bytes holding each character's value mod 10 (that
is all a mod-10 sum needs) and adds up three characters per dictionary lookup. A chunk's entry in
`PACKED` holds its weighted sum for the three weight phases at once (7-3-1, 3-1-7 and 1-7-3), ten
bits apart: a field's packed sum gives its own check (phase 0) and, unchanged, its share of the
composite check digit at whatever phase the field lands in the composite.

The fast parsers read the same bytes as big-endian integers instead, two characters each, and
index `PAIRS` (or `SINGLES` for a field's odd last character), one table per phase at which the
pair stands in its field: indexing a list by a small integer costs far less than hashing a new
``bytes`` key.
"""

from __future__ import annotations

from itertools import product

from edge.errors import DocumentError

__all__ = [
    "CHARSET",
    "DIGITS",
    "MOD10",
    "PACKED",
    "PAIRS",
    "PHASE_SHIFT",
    "SINGLES",
    "VALUES",
    "WEIGHTS",
    "check_digit",
    "chunks",
    "digits_key",
    "packed",
    "packed_sum",
    "pairs",
    "weighted_sum",
]

CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
DIGITS = "0123456789"
WEIGHTS = (7, 3, 1)
VALUES: dict[str, int] = {c: i for i, c in enumerate(CHARSET[:36])} | {"<": 0}

# ASCII byte of an MRZ character -> its value mod 10, as a raw byte (bytes.translate table).
MOD10: bytes = bytes.maketrans(CHARSET.encode("ascii"), bytes(VALUES[c] % 10 for c in CHARSET))

# Bit offset of each phase's sum inside a packed value; phase p starts with weight WEIGHTS[p].
PHASE_SHIFT = (20, 10, 0)


def _pack(values: tuple[int, ...], offset: int = 0) -> int:
    packed = 0
    for phase, shift in enumerate(PHASE_SHIFT):
        total = sum(v * WEIGHTS[(phase + offset + i) % 3] for i, v in enumerate(values))
        packed |= (total % 10) << shift
    return packed


def packed(text: str, offset: int = 0) -> int:
    """The packed phase sums of `text` standing `offset` characters into the summed field."""
    return _pack(tuple(VALUES[c] % 10 for c in text), offset)


# 1 to 3 raw mod-10 bytes -> packed phase sums (1,110 entries; shorter keys end a field).
PACKED: dict[bytes, int] = {
    bytes(key): _pack(key) for n in (1, 2, 3) for key in product(range(10), repeat=n)
}


def _pair_tables(n: int) -> tuple[list[int], list[int], list[int]]:
    """Per phase: the big-endian integer of `n` (1 or 2) mod-10 bytes -> their packed sums."""
    tables: tuple[list[int], list[int], list[int]] = ([], [], [])
    for phase, table in enumerate(tables):
        table.extend([0] * (0x0909 + 1 if n == 2 else 10))  # only 0-9 bytes ever occur
        for key in product(range(10), repeat=n):
            table[int.from_bytes(bytes(key))] = _pack(key, phase)
    return tables


PAIRS = _pair_tables(2)
SINGLES = _pair_tables(1)


def pairs(start: int, end: int, phase: int = 0) -> list[tuple[int, str, list[int]]]:
    """(position, `struct` code, table) of each integer read to sum ``[start, end)`` by pairs.

    `phase` is where the span starts in the sum it belongs to: a field's own check digit (0) or
    the composite, for a field that counts only there.
    """
    return [
        (pos, "H", PAIRS[(pos - start + phase) % 3])
        if pos + 1 < end
        else (pos, "B", SINGLES[(pos - start + phase) % 3])
        for pos in range(start, end, 2)
    ]


def digits_key(text: str) -> int:
    """The big-endian integer read from the mod-10 bytes of `text` (a date's YY or MMDD)."""
    return int.from_bytes(bytes(VALUES[c] % 10 for c in text))


def chunks(start: int, end: int) -> tuple[slice, ...]:
    """Slices of at most three characters covering ``[start, end)``, for `PACKED` lookups."""
    return tuple(slice(i, min(i + 3, end)) for i in range(start, end, 3))


def packed_sum(values: bytes, spans: tuple[slice, ...]) -> int:
    """Sum of the `PACKED` entries of `spans` of mod-10 `values` (the generic, slower path)."""
    return sum(PACKED[values[s]] for s in spans)


def weighted_sum(text: str) -> int:
    """Weighted sum of MRZ characters (7, 3, 1, ...); KeyError on a character outside the set."""
    return sum(VALUES[c] * WEIGHTS[i % 3] for i, c in enumerate(text))


def check_digit(text: str) -> str:
    """The ICAO 9303 check digit of `text` (characters ``A-Z``, ``0-9``, ``<``) as a character."""
    if not isinstance(text, str):
        raise DocumentError("check digits are computed over text")
    try:
        return DIGITS[weighted_sum(text) % 10]
    except KeyError:
        raise DocumentError("check digits are defined only over A-Z, 0-9 and <") from None
