"""ICAO 9303 machine readable zones: TD1, TD2, TD3, MRV-A, MRV-B and the pre-2021 French ID.

`parse_mrz` never raises on bad input: an unreadable MRZ is a `ParseResult` with ``valid`` False
and typed errors. Only input that is not text at all raises `DocumentError`. Lines may be
surrounded by whitespace and separated by LF, CR LF or CR; nothing else is forgiven (no case
folding, no padding of short lines). The format is chosen by line count and length, ``IDFRA``
before TD2, then ``V`` for visas.
"""

from __future__ import annotations

import datetime
import re

from edge.documents.mrz_dates import today_context
from edge.documents.mrz_digits import CHARSET, check_digit
from edge.documents.mrz_fast import FAST_PARSERS
from edge.documents.mrz_fields import parse_layout
from edge.documents.mrz_layouts import LAYOUTS, Layout
from edge.documents.mrz_ocr import ocr_pass
from edge.documents.result import Issue, ParseResult
from edge.errors import DocumentError

__all__ = ["check_digit", "detect_layout", "parse_mrz"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_VALID = frozenset(CHARSET)

_TD1, _TD2, _TD3 = LAYOUTS["td1"], LAYOUTS["td2"], LAYOUTS["td3"]
_MRVA, _MRVB, _FRA_ID = LAYOUTS["mrva"], LAYOUTS["mrvb"], LAYOUTS["fra_id"]


def detect_layout(lines: list[str]) -> Layout | None:
    """The layout of stripped MRZ lines, or None when count and lengths fit none."""
    if len(lines) == 3:
        return _TD1 if len(lines[0]) == len(lines[1]) == len(lines[2]) == 30 else None
    if len(lines) != 2 or len(lines[0]) != len(lines[1]):
        return None
    first = lines[0]
    if len(first) == 44:
        return _MRVA if first[0] == "V" else _TD3
    if len(first) == 36:
        if first.startswith("IDFRA"):
            return _FRA_ID
        return _MRVB if first[0] == "V" else _TD2
    return None


def parse_mrz(
    text: str | bytes, *, ocr: bool = False, today: datetime.date | None = None
) -> ParseResult:
    """Parse and validate an MRZ; `ocr` repairs characters only where check digits prove it.

    `today` (default: the current UTC date) anchors the century of the date of birth.
    """
    if not isinstance(text, str):
        if not isinstance(text, bytes | bytearray):
            raise DocumentError(f"an MRZ is text or bytes, not {type(text).__name__}")
        raw = bytes(text)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            # One character per byte keeps columns right; the charset check flags the bytes.
            text = raw.decode("latin-1")
    context = today_context(today)
    if not ocr:
        stripped = text.strip()
        parsers = FAST_PARSERS.get(len(stripped))
        if parsers is not None:
            result = parsers[stripped[0] == "V"](stripped, context)
            if result is not None:
                return result
    lines = [line for line in (line.strip() for line in _LINE_BREAK.split(text)) if line]
    errors = _line_errors(lines)
    if errors:
        return ParseResult(valid=False, format="unknown", errors=errors)
    layout = detect_layout(lines)
    if layout is None:
        return ParseResult(valid=False, format="unknown", errors=_shape_errors(lines))
    z = "".join(lines)
    result = parse_layout(layout, z, context)
    if ocr:
        return ocr_pass(
            layout, z, result, lambda candidate: parse_layout(layout, candidate, context)
        )
    return result


def _line_errors(lines: list[str]) -> list[Issue]:
    """Character-set errors (the first bad character of each line) and then shape errors."""
    errors = []
    for number, line in enumerate(lines, 1):
        for column, char in enumerate(line, 1):
            if char not in _VALID:
                errors.append(
                    Issue("charset", "character outside A-Z, 0-9 and < in the MRZ", number, column)
                )
                break
    if errors:
        return errors + _shape_errors(lines, lenient=True)
    return []


def _shape_errors(lines: list[str], *, lenient: bool = False) -> list[Issue]:
    """Why the line count and lengths fit no layout (empty when they fit and `lenient`)."""
    if len(lines) not in (2, 3):
        return [Issue("line_count", f"an MRZ has 2 or 3 lines, not {len(lines)}")]
    if lenient and detect_layout(lines) is not None:
        return []
    lengths = sorted({len(line) for line in lines})
    if len(lines) == 3:
        return [
            Issue(
                "line_length", f"a 3-line MRZ (TD1) has 30 characters per line, not {len(line)}", n
            )
            for n, line in enumerate(lines, 1)
            if len(line) != 30
        ]
    if lengths == [36, 44]:
        return [Issue("line_length", "lines of 36 and 44 characters mixed in one MRZ", 2)]
    expected = {44: "44", 36: "36"}.get(len(lines[0]), "36 or 44")
    return [
        Issue("line_length", f"a 2-line MRZ has {expected} characters per line, not {len(line)}", n)
        for n, line in enumerate(lines, 1)
        if len(line) not in (36, 44)
    ]
