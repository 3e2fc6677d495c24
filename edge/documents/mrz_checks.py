"""Check-digit verdicts for each MRZ layout, and `reader` for the fast parsers of `mrz_fast`.

The verdict functions serve the general path, OCR repair and the French ID; the fast parsers
read integers with `reader` and compute their checks inline.

Each function takes `v`, the joined lines translated to values mod 10 (`mrz_digits.MOD10`),
and returns (document number, birth date, expiry date, personal number, composite) as booleans;
a check the layout does not have is reported True and ignored by the caller. Check digits are
compared as values: the caller makes sure they are digits (``<`` and letters have values too).

One `struct` call cuts a layout's checked fields into three-character chunks and another picks
its check digits, both from the `mrz_layouts` positions; each chunk is one `PACKED` lookup. A
composite adds each field's packed sum at the phase where the field starts inside the composite
string (shift 20, 10 or 0 for phase 0, 1, 2) and each check digit times its weight.

The TD1/TD2 long document number (a ``<`` where the check digit belongs) is not handled here:
the caller rejects that check digit and takes the long-number path.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from edge.documents.mrz_digits import PACKED, chunks, packed_sum
from edge.documents.mrz_layouts import LAYOUTS, Field, Layout

__all__ = ["FAST_CHECKS", "Verdicts", "reader"]

Verdicts = tuple[bool, bool, bool, bool, bool]

_get = PACKED.__getitem__
_M = 0x3FF


def _chunker(
    layout: Layout, spans: tuple[tuple[int, int], ...]
) -> Callable[[bytes], tuple[bytes, ...]]:
    """Unpacks the chunks of `spans` (in order, three characters at most) from a whole MRZ."""
    fmt, pos = [], 0
    for start, end in spans:
        fmt.append(f"{start - pos}x")
        fmt.extend(f"{piece.stop - piece.start}s" for piece in chunks(start, end))
        pos = end
    fmt.append(f"{layout.width * layout.height - pos}x")
    return struct.Struct("".join(fmt)).unpack


def reader(
    layout: Layout, items: Iterable[tuple[int, str]], newline: str = ""
) -> Callable[[bytes], tuple[int, ...]]:
    """Reads big-endian integers, given as (position, `struct` code) in order, from an MRZ.

    Positions are those of the joined lines; the bytes read hold the lines joined by `newline`.
    """
    fmt, at = [">"], 0
    for pos, code in items:
        start = pos + pos // layout.width * len(newline)
        size = struct.calcsize(">" + code)
        assert start >= at, "items overlap or are out of order"
        assert pos % layout.width + size <= layout.width, "an item crosses a line break"
        fmt.append(f"{start - at}x{code}")
        at = start + size
    total = layout.width * layout.height + (layout.height - 1) * len(newline)
    fmt.append(f"{total - at}x")
    return struct.Struct("".join(fmt)).unpack


def _digits(layout: Layout) -> Callable[[bytes], tuple[int, ...]]:
    """Unpacks the values at the layout's check-digit positions, in MRZ order."""
    return reader(layout, [(p, "B") for p in sorted(layout.check_digit_positions()) if p >= 0])


def _span(field: Field | None) -> tuple[int, int]:
    assert field is not None
    return field.start, field.end


def _optional(layout: Layout, index: int) -> tuple[int, int]:
    _, start, end = layout.optional[index]
    return start, end


_TD3, _TD1, _TD2 = LAYOUTS["td3"], LAYOUTS["td1"], LAYOUTS["td2"]
_MRVA, _MRVB, _FRA = LAYOUTS["mrva"], LAYOUTS["mrvb"], LAYOUTS["fra_id"]

_TD3_CHUNKS = _chunker(
    _TD3, (_span(_TD3.number), _span(_TD3.birth), _span(_TD3.expiry), _span(_TD3.personal))
)
_TD1_CHUNKS = _chunker(
    _TD1,
    (
        _span(_TD1.number),
        _optional(_TD1, 0),
        _span(_TD1.birth),
        _span(_TD1.expiry),
        _optional(_TD1, 1),
    ),
)
_TD2_CHUNKS = _chunker(
    _TD2, (_span(_TD2.number), _span(_TD2.birth), _span(_TD2.expiry), _optional(_TD2, 0))
)
_MRVA_CHUNKS = _chunker(_MRVA, (_span(_MRVA.number), _span(_MRVA.birth), _span(_MRVA.expiry)))
_MRVB_CHUNKS = _chunker(_MRVB, (_span(_MRVB.number), _span(_MRVB.birth), _span(_MRVB.expiry)))
_TD3_DIGITS, _TD1_DIGITS, _TD2_DIGITS = _digits(_TD3), _digits(_TD1), _digits(_TD2)
_MRVA_DIGITS, _MRVB_DIGITS = _digits(_MRVA), _digits(_MRVB)


def td3(v: bytes) -> Verdicts:
    """TD3: number, birth date, expiry date, personal number, composite."""
    d0, d1, d2, b0, b1, e0, e1, p0, p1, p2, p3, p4 = map(_get, _TD3_CHUNKS(v))
    dc, bc, ec, pc, cc = _TD3_DIGITS(v)
    d, b, e, p = d0 + d1 + d2, b0 + b1, e0 + e1, p0 + p1 + p2 + p3 + p4
    # Composite offsets: number 0 (cd 9), birth 10 (cd 16), expiry 17 (cd 23), personal 24 (cd 38).
    composite = (d >> 20) + 7 * dc + ((b >> 10) & _M) + 3 * bc + (e & _M) + ec + (p >> 20) + pc
    return (
        (d >> 20) % 10 == dc,
        (b >> 20) % 10 == bc,
        (e >> 20) % 10 == ec,
        (p >> 20) % 10 == pc,  # a filler (value 0) is allowed when the field is empty
        composite % 10 == cc,
    )


def td1(v: bytes) -> Verdicts:
    """TD1: number, birth date, expiry date, composite (over both optional data fields too)."""
    d0, d1, d2, o0, o1, o2, o3, o4, b0, b1, e0, e1, q0, q1, q2, q3 = map(_get, _TD1_CHUNKS(v))
    dc, bc, ec, cc = _TD1_DIGITS(v)
    d, o, b, e, q = d0 + d1 + d2, o0 + o1 + o2 + o3 + o4, b0 + b1, e0 + e1, q0 + q1 + q2 + q3
    # Composite offsets: number 0 (cd 9), optional 10, birth 25 (cd 31), expiry 32 (cd 38),
    # optional 39.
    composite = (
        (d >> 20)
        + 7 * dc
        + ((o >> 10) & _M)
        + ((b >> 10) & _M)
        + 3 * bc
        + (e & _M)
        + ec
        + (q >> 20)
    )
    return (
        (d >> 20) % 10 == dc,
        (b >> 20) % 10 == bc,
        (e >> 20) % 10 == ec,
        True,
        composite % 10 == cc,
    )


def td2(v: bytes) -> Verdicts:
    """TD2: number, birth date, expiry date, composite (over the optional data too)."""
    d0, d1, d2, b0, b1, e0, e1, o0, o1, o2 = map(_get, _TD2_CHUNKS(v))
    dc, bc, ec, cc = _TD2_DIGITS(v)
    d, b, e, o = d0 + d1 + d2, b0 + b1, e0 + e1, o0 + o1 + o2
    # Composite offsets: number 0 (cd 9), birth 10 (cd 16), expiry 17 (cd 23), optional 24.
    composite = (d >> 20) + 7 * dc + ((b >> 10) & _M) + 3 * bc + (e & _M) + ec + (o >> 20)
    return (
        (d >> 20) % 10 == dc,
        (b >> 20) % 10 == bc,
        (e >> 20) % 10 == ec,
        True,
        composite % 10 == cc,
    )


def _visa(
    cut: Callable[[bytes], tuple[bytes, ...]], digits: Callable[[bytes], tuple[int, ...]]
) -> Callable[[bytes], Verdicts]:
    """Visas (MRV-A, MRV-B): number, birth date, expiry date; no personal number, no composite."""

    def check(v: bytes) -> Verdicts:
        d0, d1, d2, b0, b1, e0, e1 = map(_get, cut(v))
        dc, bc, ec = digits(v)
        return (
            ((d0 + d1 + d2) >> 20) % 10 == dc,
            ((b0 + b1) >> 20) % 10 == bc,
            ((e0 + e1) >> 20) % 10 == ec,
            True,
            True,
        )

    return check


mrva = _visa(_MRVA_CHUNKS, _MRVA_DIGITS)
mrvb = _visa(_MRVB_CHUNKS, _MRVB_DIGITS)


_FRA_NUMBER = chunks(*_span(_FRA.number))
_FRA_BIRTH = chunks(*_span(_FRA.birth))
_FRA_COMPOSITE = chunks(0, 71)


def fra_id(v: bytes) -> Verdicts:
    """French ID: number, birth date, composite over line 1 and line 2 up to the sex."""
    return (
        (packed_sum(v, _FRA_NUMBER) >> 20) % 10 == v[48],
        (packed_sum(v, _FRA_BIRTH) >> 20) % 10 == v[69],
        True,
        True,
        (packed_sum(v, _FRA_COMPOSITE) >> 20) % 10 == v[71],
    )


FAST_CHECKS: dict[str, Callable[[bytes], Verdicts]] = {
    "td1": td1,
    "td2": td2,
    "td3": td3,
    "mrva": mrva,
    "mrvb": mrvb,
    "fra_id": fra_id,
}
