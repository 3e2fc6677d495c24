"""Where each field sits in every MRZ layout (ICAO 9303 Parts 4-7, and the pre-2021 French ID).

Positions are 0-based offsets into the MRZ lines joined without separators, so that a position
maps back to a 1-based line and column with `Layout.where`. `pattern` gives the regular
expression of a clean MRZ of a layout, which the fast path matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import ascii_uppercase

__all__ = ["LAYOUTS", "PARTS", "Field", "Layout", "pattern"]

# What `Layout.part_spans` delimits, in order.
PARTS = (
    "code",
    "issuer",
    "name",
    "number",
    "nationality",
    "birth",
    "sex",
    "expiry",
    "extra_1",
    "extra_2",
)


@dataclass(frozen=True, slots=True)
class Field:
    """A field protected by its own check digit, which sits right after it at `end`."""

    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Field positions of one MRZ format."""

    format: str
    width: int
    height: int
    codes: frozenset[str]  # allowed document codes, as written (two characters)
    names: tuple[tuple[str, int, int], ...]  # ("name", start, end) or surname + given names
    number: Field
    birth: Field
    expiry: Field | None
    personal: Field | None
    nationality: int | None  # start of the three characters
    sex: int
    optional: tuple[tuple[str, int, int], ...]
    overflow: tuple[int, int] | None  # where a long document number continues (TD1, TD2)
    composite: tuple[tuple[int, int], ...]  # spans covered verbatim by the composite digit
    composite_cd: int | None

    def where(self, pos: int) -> tuple[int, int]:
        """1-based (line, column) of a position in the joined lines."""
        line, column = divmod(pos, self.width)
        return line + 1, column + 1

    def checked_fields(self) -> tuple[Field, ...]:
        """The fields that carry their own check digit, in MRZ order."""
        found = (self.number, self.birth, self.expiry, self.personal)
        return tuple(f for f in found if f is not None)

    def part_spans(self) -> tuple[tuple[int, int], ...]:
        """Spans of the parts every parser path extracts, in `PARTS` order; (0, 0) when absent.

        The two extra parts are the personal number and its check digit (TD3), optional data
        1 and 2 (TD1), the optional data (TD2, visas) or the optional data and the given names
        (French ID).
        """
        number, birth, expiry = self.number, self.birth, self.expiry
        nationality = self.nationality
        extras = [(start, end) for _, start, end in self.optional]
        if self.personal is not None:
            extras = [
                (self.personal.start, self.personal.end),
                (self.personal.end, self.personal.end + 1),
            ]
        if self.format == "fra_id":
            extras.append((self.names[1][1], self.names[1][2]))
        extras += [(0, 0)] * (2 - len(extras))
        return (
            (0, 2),
            (2, 5),
            (self.names[0][1], self.names[0][2]),
            (number.start, number.end),
            (0, 0) if nationality is None else (nationality, nationality + 3),
            (birth.start, birth.end),
            (self.sex, self.sex + 1),
            (0, 0) if expiry is None else (expiry.start, expiry.end),
            extras[0],
            extras[1],
        )

    def composite_phase(self, pos: int) -> int:
        """Where in the 7-3-1 weights of the composite check digit position `pos` counts."""
        index = 0
        for start, end in self.composite:
            if start <= pos < end:
                return (index + pos - start) % 3
            index += end - start
        raise ValueError(f"position {pos} is not under the composite check digit")

    def check_digit_positions(self) -> tuple[int, ...]:
        """Check-digit positions in verdict order (number, birth, expiry, personal, composite)."""
        fields = (self.number, self.birth, self.expiry, self.personal)
        positions = tuple(-1 if f is None else f.end for f in fields)
        return (*positions, -1 if self.composite_cd is None else self.composite_cd)


_SECOND = frozenset(ascii_uppercase + "<")


def _codes(first: str, *, exclude: tuple[str, ...] = ()) -> frozenset[str]:
    return frozenset(f + s for f in first for s in _SECOND if f + s not in exclude)


# P5 4.2.2: A, C or I; second character not V; AI is not allowed (AC: crew member certificate).
_TD1_CODES = _codes("ACI", exclude=("AV", "CV", "IV", "AI"))
# P6 4.2.2: A, C or I; second character not V; AC is not allowed.
_TD2_CODES = _codes("ACI", exclude=("AV", "CV", "IV", "AC"))

TD1 = Layout(
    format="td1",
    width=30,
    height=3,
    codes=_TD1_CODES,
    names=(("name", 60, 90),),
    number=Field("document_number", 5, 14),
    birth=Field("birth_date", 30, 36),
    expiry=Field("expiry_date", 38, 44),
    personal=None,
    nationality=45,
    sex=37,
    optional=(("optional_data_1", 15, 30), ("optional_data_2", 48, 59)),
    overflow=(15, 30),
    composite=((5, 30), (30, 37), (38, 45), (48, 59)),
    composite_cd=59,
)

TD2 = Layout(
    format="td2",
    width=36,
    height=2,
    codes=_TD2_CODES,
    names=(("name", 5, 36),),
    number=Field("document_number", 36, 45),
    birth=Field("birth_date", 49, 55),
    expiry=Field("expiry_date", 57, 63),
    personal=None,
    nationality=46,
    sex=56,
    optional=(("optional_data", 64, 71),),
    overflow=(64, 71),
    composite=((36, 46), (49, 56), (57, 71)),
    composite_cd=71,
)

TD3 = Layout(
    format="td3",
    width=44,
    height=2,
    codes=_codes("P"),
    names=(("name", 5, 44),),
    number=Field("document_number", 44, 53),
    birth=Field("birth_date", 57, 63),
    expiry=Field("expiry_date", 65, 71),
    personal=Field("personal_number", 72, 86),
    nationality=54,
    sex=64,
    optional=(),
    overflow=None,
    composite=((44, 54), (57, 64), (65, 87)),
    composite_cd=87,
)

MRVA = Layout(
    format="mrva",
    width=44,
    height=2,
    codes=_codes("V"),
    names=(("name", 5, 44),),
    number=Field("document_number", 44, 53),
    birth=Field("birth_date", 57, 63),
    expiry=Field("expiry_date", 65, 71),
    personal=None,
    nationality=54,
    sex=64,
    optional=(("optional_data", 72, 88),),
    overflow=None,
    composite=(),
    composite_cd=None,
)

MRVB = Layout(
    format="mrvb",
    width=36,
    height=2,
    codes=_codes("V"),
    names=(("name", 5, 36),),
    number=Field("document_number", 36, 45),
    birth=Field("birth_date", 49, 55),
    expiry=Field("expiry_date", 57, 63),
    personal=None,
    nationality=46,
    sex=56,
    optional=(("optional_data", 64, 72),),
    overflow=None,
    composite=(),
    composite_cd=None,
)

# Pre-2021 French national ID card: no expiry, no nationality; given names on line 2.
FRA_ID = Layout(
    format="fra_id",
    width=36,
    height=2,
    codes=frozenset({"ID"}),
    names=(("surname", 5, 30), ("given_names", 49, 63)),
    number=Field("document_number", 36, 48),
    birth=Field("birth_date", 63, 69),
    expiry=None,
    personal=None,
    nationality=None,
    sex=70,
    optional=(("optional_data", 30, 36),),
    overflow=None,
    composite=((0, 71),),
    composite_cd=71,
)

LAYOUTS: dict[str, Layout] = {
    layout.format: layout for layout in (TD1, TD2, TD3, MRVA, MRVB, FRA_ID)
}


# Possessive: a name never needs to give characters back, and sre is faster not keeping them.
_NAME = "([A-Z]++(?:<[A-Z]++)*+)(?:<<([A-Z]++(?:<[A-Z]++)*+))?<++"
_CLASSES = {
    "code": "[A-Z<]",
    "issuer": "[A-Z<]",
    "nationality": "[A-Z<]",
    "birth": "[0-9]",
    "expiry": "[0-9]",
    "sex": "[MF<]",
}


def pattern(layout: Layout, newline: str, *, split: bool = True) -> tuple[str, tuple[str, ...]]:
    """The regular expression of a clean MRZ of `layout` and the names of its groups, in order.

    It accepts only what each field allows: A-Z and < in codes and country codes, digits in
    dates and check digits (a filler too for the TD3 personal number's), M, F or < as sex, A-Z,
    0-9 and < elsewhere; lines joined by `newline`. A name starts with a letter and ends with a
    filler. Groups are named after `PARTS`. With `split`, a name is words of letters joined by
    one filler, two between surname and given names, fillers to its end, captured as
    ``surname`` and ``given_names``: its length then follows from the text's only when the
    caller has checked that.
    """
    name_starts = {start for _, start, _ in layout.names}
    digits = {pos for pos in layout.check_digit_positions() if pos >= 0}
    tokens: dict[int, tuple[int, str, tuple[str, ...]]] = {}  # start -> (width, regex, groups)
    for part, (start, end) in zip(PARTS, layout.part_spans(), strict=True):
        width = end - start
        if not width:
            continue
        groups: tuple[str, ...]
        if start in name_starts:
            assert not split or len(layout.names) == 1
            regex = _NAME if split else f"([A-Z][A-Z<]{{{width - 2}}}<)"
            groups = ("surname", "given_names") if split else (part,)
        else:
            cls = _CLASSES.get(part) or ("[0-9<]" if start in digits else "[A-Z0-9<]")
            regex, groups = (f"({cls})" if width == 1 else f"({cls}{{{width}}})"), (part,)
        tokens[start] = (width, regex, groups)
        digits.discard(start)
    tokens.update((pos, (1, "[0-9]", ())) for pos in digits)
    out: list[str] = []
    names: list[str] = []
    pos = 0
    while pos < layout.width * layout.height:
        if pos and pos % layout.width == 0:
            out.append(newline)
        width, regex, groups = tokens[pos]
        assert pos % layout.width + width <= layout.width, "a part crosses a line break"
        out.append(regex)
        names.extend(groups)
        pos += width
    return "".join(out), tuple(names)
