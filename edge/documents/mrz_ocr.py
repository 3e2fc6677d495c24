"""Proof-only OCR repair of an MRZ, used by ``parse_mrz(..., ocr=True)``.

A check digit can only prove a substitution that changes the character's value mod 10
(documents.md 1.4): O/Q/D<->0, I<->1, Z<->2, S<->5 and B<->8. G<->6 and K<-><  are invisible to
every check digit and are never made. Candidates substitute characters only inside check-digit
coverage: characters invalid for their field (a letter in a date) must be replaced; otherwise a
failing field may take one substitution. A repair is accepted only when exactly one candidate,
among those with the fewest substitutions, passes every check digit (fields and composite) with
valid dates. Nothing outside check-digit coverage is changed: suspicious characters there (a digit
in a name, a K inside a filler run) are reported as ``ocr_suspect`` warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice, product
from string import ascii_uppercase
from typing import NamedTuple

from edge.documents.mrz_digits import CHARSET, DIGITS
from edge.documents.mrz_layouts import Field, Layout
from edge.documents.result import Check, Correction, Issue, ParseResult

__all__ = ["ALTERNATIVES", "UNPROVABLE", "ocr_pass"]

ALTERNATIVES: dict[str, str] = {
    "0": "OQD",
    "O": "0",
    "Q": "0",
    "D": "0",
    "1": "I",
    "I": "1",
    "2": "Z",
    "Z": "2",
    "5": "S",
    "S": "5",
    "8": "B",
    "B": "8",
}
# Confusions whose two characters have the same value mod 10: no check digit tells them apart.
UNPROVABLE: frozenset[str] = frozenset("6G<K")

_DIGIT = frozenset(DIGITS)
_DIGIT_OR_FILLER = frozenset(DIGITS + "<")
_ANY = frozenset(CHARSET)
_LETTER = frozenset(ascii_uppercase + "<")
_FATAL = frozenset({"check_digit", "date_invalid", "document_number_format"})
_MAX_CANDIDATES = 512

Edits = dict[int, str]
Reparse = Callable[[str], ParseResult]


class _Unit(NamedTuple):
    """Positions covered by one check digit (the composite unit: by the composite only)."""

    check: str
    positions: tuple[int, ...]
    allowed: tuple[frozenset[str], ...]
    fields: tuple[str, ...]


def _field_unit(field: Field, data: frozenset[str], cd: frozenset[str]) -> _Unit:
    positions = (*range(field.start, field.end), field.end)
    allowed = (data,) * (field.end - field.start) + (cd,)
    return _Unit(field.name, positions, allowed, (field.name,) * len(positions))


def _number_unit(layout: Layout, z: str) -> _Unit:
    number = layout.number
    if layout.overflow is None or z[number.end] != "<":
        return _field_unit(number, _ANY, _DIGIT)
    o_start, o_end = layout.overflow
    end = z.find("<", o_start, o_end)
    end = o_end if end == -1 else end
    if end - o_start < 2:
        return _field_unit(number, _ANY, _DIGIT)  # the filler at the cd position is stuck
    positions = (*range(number.start, number.end), *range(o_start, end))
    allowed = (_ANY,) * (len(positions) - 1) + (_DIGIT,)
    return _Unit(number.name, positions, allowed, (number.name,) * len(positions))


def _fixed_field(pos: int) -> str:
    """Field of a composite-only position outside names and optional data."""
    if pos < 2:
        return "document_code"
    return "issuing_country" if pos < 5 else "document_number"  # TD1: the long-number filler


def _units(layout: Layout, z: str) -> list[_Unit]:
    """Field units, then the composite-only unit when the layout has a composite."""
    units = [_number_unit(layout, z), _field_unit(layout.birth, _DIGIT_OR_FILLER, _DIGIT)]
    if layout.expiry is not None:
        units.append(_field_unit(layout.expiry, _DIGIT, _DIGIT))
    if layout.personal is not None:
        units.append(_field_unit(layout.personal, _ANY, _DIGIT_OR_FILLER))
    if layout.composite_cd is None:
        return units
    covered = {pos for unit in units for pos in unit.positions}
    names = {pos: name for name, s, e in layout.names for pos in range(s, e)}
    optional = {pos: name for name, s, e in layout.optional for pos in range(s, e)}
    rest = [
        pos
        for s, e in layout.composite
        for pos in range(s, e)
        if pos not in covered and pos != layout.sex
    ]
    positions = (*rest, layout.composite_cd)
    allowed = (*(_LETTER if pos in names or pos < 5 else _ANY for pos in rest), _DIGIT)
    fields = (
        *(names.get(pos) or optional.get(pos) or _fixed_field(pos) for pos in rest),
        "composite",
    )
    units.append(_Unit("composite", positions, allowed, fields))
    return units


def _apply(z: str, edits: Edits) -> str:
    chars = list(z)
    for pos, char in edits.items():
        chars[pos] = char
    return "".join(chars)


def _replacements(char: str, allowed: frozenset[str]) -> str:
    return "".join(c for c in ALTERNATIVES.get(char, "") if c in allowed)


def _forced(unit: _Unit, z: str) -> list[list[tuple[int, str]]] | None:
    """Choices for each character invalid for its field; None when one has no provable repair."""
    choices = []
    for pos, allowed in zip(unit.positions, unit.allowed, strict=True):
        if z[pos] not in allowed:
            replacements = _replacements(z[pos], allowed)
            if not replacements:
                return None
            choices.append([(pos, c) for c in replacements])
    return choices


def _combine(parts: Iterable[list[Edits]]) -> list[Edits]:
    combined = []
    for combo in product(*parts):
        edits: Edits = {}
        for part in combo:
            edits.update(part)
        combined.append(edits)
        if len(combined) > _MAX_CANDIDATES:
            break
    return combined


def _base(choices: list[list[tuple[int, str]]]) -> list[Edits]:
    return [dict(combo) for combo in islice(product(*choices), _MAX_CANDIDATES + 1)]


def _single_extras(unit: _Unit, z: str, base: list[Edits]) -> list[Edits]:
    """Each base candidate plus one more substitution somewhere else in the unit."""
    out: list[Edits] = []
    for edits in base:
        for pos, allowed in zip(unit.positions, unit.allowed, strict=True):
            if pos not in edits:
                out.extend(edits | {pos: c} for c in _replacements(z[pos], allowed))
    return out[: _MAX_CANDIDATES + 1]


def _unit_passes(unit: _Unit, result: ParseResult, layout: Layout) -> bool:
    if result.checks.get(unit.check) is Check.FAILED:
        return False
    line, column = layout.where(unit.positions[0])
    return not any(
        e.code == "date_invalid" and (e.line, e.column) == (line, column) for e in result.errors
    )


def _all_pass(result: ParseResult) -> bool:
    return Check.FAILED not in result.checks.values() and not any(
        e.code in _FATAL for e in result.errors
    )


def _candidates(
    layout: Layout, z: str, units: list[_Unit], failing: set[str], reparse: Reparse
) -> list[Edits] | None:
    """Passing candidates with the fewest substitutions; None when the search is hopeless."""
    parts: list[list[Edits]] = []
    composite: _Unit | None = None
    for unit in units:
        choices = _forced(unit, z)
        if choices is None:
            return None
        base = _base(choices)
        if unit.check == "composite":
            composite = unit
            parts.append(base)
            continue
        if not choices and unit.check not in failing:
            parts.append([{}])
            continue
        passing = [e for e in base if _unit_passes(unit, reparse(_apply(z, e)), layout)]
        if not passing:
            extras = _single_extras(unit, z, base)
            passing = [e for e in extras if _unit_passes(unit, reparse(_apply(z, e)), layout)]
        if not passing:
            return None
        parts.append(passing)
    combos = _combine(parts)
    if len(combos) > _MAX_CANDIDATES:
        return None
    found = [e for e in combos if e and _all_pass(reparse(_apply(z, e)))]
    if not found and composite is not None:
        # The composite alone can still prove one substitution in what only it covers.
        wider = [w for e in combos for w in _single_extras(composite, z, [e])]
        found = [e for e in wider[: _MAX_CANDIDATES + 1] if _all_pass(reparse(_apply(z, e)))]
    unique = {frozenset(e.items()): e for e in found}
    return list(unique.values())


def _suspects(layout: Layout, z: str, units: list[_Unit]) -> list[Issue]:
    """Characters that look misread where no check digit can prove a repair."""
    found: dict[int, str] = {}
    for unit in units:
        for pos, allowed in zip(unit.positions, unit.allowed, strict=True):
            if z[pos] not in allowed and not _replacements(z[pos], allowed):
                found[pos] = "invalid here, and no check digit can prove a repair"
    for _, start, end in layout.names:
        field = z[start:end]
        for i, char in enumerate(field):
            if char in ALTERNATIVES or char in UNPROVABLE:
                if char in _DIGIT:
                    found.setdefault(start + i, "a digit in a name, probably misread; not repaired")
                elif char == "K" and field[i - 2 : i] == "<<" and not field[i + 1 :].strip("<K"):
                    found.setdefault(
                        start + i, "a K inside fillers, probably a misread <; not repaired"
                    )
    country_positions = [2] + ([layout.nationality] if layout.nationality is not None else [])
    for start in country_positions:
        for pos in range(start, start + 3):
            if z[pos] in _DIGIT:
                found.setdefault(pos, "a digit in a country code, probably misread; not repaired")
    return [
        Issue("ocr_suspect", message, *layout.where(pos)) for pos, message in sorted(found.items())
    ]


def ocr_pass(layout: Layout, z: str, result: ParseResult, reparse: Reparse) -> ParseResult:
    """`result` repaired when exactly one candidate proves itself, with OCR warnings added."""
    units = _units(layout, z)
    needs_repair = Check.FAILED in result.checks.values() or any(
        z[pos] not in allowed
        for unit in units
        for pos, allowed in zip(unit.positions, unit.allowed, strict=True)
    )
    if needs_repair:
        failing = {name for name, verdict in result.checks.items() if verdict is Check.FAILED}
        candidates = _candidates(layout, z, units, failing, reparse)
        if candidates is not None and len(candidates) == 1:
            edits = candidates[0]
            repaired = _apply(z, edits)
            field_of = {
                pos: name
                for unit in units
                for pos, name in zip(unit.positions, unit.fields, strict=True)
            }
            result = reparse(repaired)
            result.corrections = [
                Correction(field_of[pos], *layout.where(pos), z[pos], char)
                for pos, char in sorted(edits.items())
            ]
            z = repaired
        elif candidates:
            result.warnings.append(
                Issue("ocr_ambiguous", "several repairs satisfy every check digit; none applied")
            )
    result.warnings.extend(_suspects(layout, z, units))
    return result
