"""Properties of the MRZ parser: detection of changes, robustness, one answer on every path."""

from __future__ import annotations

import datetime
import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.documents.mrz import parse_mrz
from edge.documents.mrz_checks import FAST_CHECKS
from edge.documents.mrz_digits import CHARSET, MOD10, VALUES, check_digit
from edge.documents.mrz_fields import ISSUES
from edge.documents.mrz_gen import FORMATS, Format, random_mrz
from edge.documents.mrz_layouts import LAYOUTS, Layout
from edge.errors import DocumentError

TODAY = datetime.date(2025, 6, 1)
DIGITS = "0123456789"

# Every message the parser can write, numbers replaced by "#": none carries document data.
_TEXTS = {message for _, message in ISSUES.values()} | {
    "character outside A-Z, 0-9 and < in the MRZ",
    "an MRZ has 2 or 3 lines, not #",
    "a 3-line MRZ (TD1) has # characters per line, not #",
    "lines of # and # characters mixed in one MRZ",
    "a 2-line MRZ has # characters per line, not #",
    "a 2-line MRZ has # or # characters per line, not #",
    "several repairs satisfy every check digit; none applied",
    "invalid here, and no check digit can prove a repair",
    "a digit in a name, probably misread; not repaired",
    "a K inside fillers, probably a misread <; not repaired",
    "a digit in a country code, probably misread; not repaired",
}
MESSAGES = {re.sub(r"\d+", "#", text) for text in _TEXTS}


def protected(layout: Layout) -> set[int]:
    """Positions covered by at least one check digit (or that are one)."""
    covered: set[int] = set()
    for field in layout.checked_fields():
        covered.update(range(field.start, field.end + 1))
    for start, end in layout.composite:
        covered.update(range(start, end))
    if layout.composite_cd is not None:
        covered.add(layout.composite_cd)
    return covered


def reference_verdicts(layout: Layout, z: str) -> tuple[bool, ...]:
    """Check digits recomputed the slow, obvious way from the layout's positions."""
    verdicts = []
    for field in (layout.number, layout.birth, layout.expiry, layout.personal):
        if field is None:
            verdicts.append(True)
        else:
            verdicts.append(check_digit(z[field.start : field.end]) == z[field.end])
    if layout.composite_cd is None:
        verdicts.append(True)
    else:
        covered = "".join(z[start:end] for start, end in layout.composite)
        verdicts.append(check_digit(covered) == z[layout.composite_cd])
    return tuple(verdicts)


formats = st.sampled_from(FORMATS)
seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=300, deadline=None)
@given(fmt=formats, data=st.data())
def test_fast_check_digits_match_the_layout_definition(fmt: Format, data: st.DataObject) -> None:
    layout = LAYOUTS[fmt]
    chars = list(data.draw(st.text(CHARSET, min_size=88, max_size=90)))
    chars = (chars * 2)[: layout.width * layout.height]
    for pos in layout.check_digit_positions():
        if pos >= 0:
            chars[pos] = data.draw(st.sampled_from(DIGITS))
    z = "".join(chars)
    fast = FAST_CHECKS[fmt](z.encode("ascii").translate(MOD10))
    assert fast == reference_verdicts(layout, z)


@settings(max_examples=400, deadline=None)
@given(fmt=formats, seed=seeds, data=st.data())
def test_any_change_under_a_check_digit_is_detected(
    fmt: Format, seed: int, data: st.DataObject
) -> None:
    # Stated precisely: a substitution at a position covered by a check digit, by a character
    # of a different value mod 10, always makes the MRZ invalid. Same-value substitutions
    # (G/6, S/8, </0/A/K...) are invisible to every check digit (9303 arithmetic).
    layout = LAYOUTS[fmt]
    lines = random_mrz(random.Random(seed), fmt).split("\n")
    z = "".join(lines)
    pos = data.draw(st.sampled_from(sorted(protected(layout))))
    char = data.draw(
        st.sampled_from([c for c in CHARSET if (VALUES[c] - VALUES[z[pos]]) % 10 != 0])
    )
    changed = z[:pos] + char + z[pos + 1 :]
    width = layout.width
    text = "\n".join(changed[i : i + width] for i in range(0, len(changed), width))
    result = parse_mrz(text, today=TODAY)
    assert not result.valid
    assert result.errors


@settings(max_examples=300, deadline=None)
@given(fmt=formats, seed=seeds, data=st.data())
def test_any_change_is_detected_or_repaired_or_harmless(
    fmt: Format, seed: int, data: st.DataObject
) -> None:
    # Anywhere in the MRZ, OCR mode included: never an exception, and a change under a check
    # digit either leaves the MRZ invalid or comes with a reported correction. (A change that
    # is no OCR confusion can be "proven" elsewhere: a digit cannot know which error it saw,
    # which is why every correction is reported.)
    layout = LAYOUTS[fmt]
    original = random_mrz(random.Random(seed), fmt)
    z = original.replace("\n", "")
    pos = data.draw(st.integers(0, len(z) - 1))
    char = data.draw(st.sampled_from(CHARSET))
    changed = z[:pos] + char + z[pos + 1 :]
    width = layout.width
    text = "\n".join(changed[i : i + width] for i in range(0, len(changed), width))
    for ocr in (False, True):
        result = parse_mrz(text, ocr=ocr, today=TODAY)
        if pos in protected(layout) and (VALUES[char] - VALUES[z[pos]]) % 10:
            assert not result.valid or result.corrections
        if result.corrections:
            assert ocr
            for fix in result.corrections:
                assert fix.original != fix.replacement
                assert changed[(fix.line - 1) * width + fix.column - 1] == fix.original


@settings(max_examples=300, deadline=None)
@given(fmt=formats, seed=seeds, data=st.data())
def test_fast_and_general_paths_agree(fmt: Format, seed: int, data: st.DataObject) -> None:
    # CR-only line breaks always take the general path; LF may take the fast one.
    text = random_mrz(random.Random(seed), fmt)
    if data.draw(st.booleans()):
        pos = data.draw(st.integers(0, len(text) - 1))
        if text[pos] != "\n":
            text = text[:pos] + data.draw(st.sampled_from(CHARSET + "Xx ")) + text[pos + 1 :]
    assert parse_mrz(text, today=TODAY) == parse_mrz(text.replace("\n", "\r"), today=TODAY)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_random_text_never_raises(text: str) -> None:
    result = parse_mrz(text, today=TODAY)
    assert not result.valid or result.format != "unknown"
    for issue in result.errors + result.warnings:
        assert re.sub(r"\d+", "#", issue.message) in MESSAGES


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200), ocr=st.booleans())
def test_random_bytes_never_raise(raw: bytes, ocr: bool) -> None:
    result = parse_mrz(raw, ocr=ocr, today=TODAY)
    assert result.format in {*FORMATS, "unknown"}
    assert result.valid or result.errors  # an invalid result always says why
    for issue in result.errors + result.warnings:
        assert re.sub(r"\d+", "#", issue.message) in MESSAGES


@settings(max_examples=200, deadline=None)
@given(fmt=formats, seed=seeds, data=st.data())
def test_messages_are_fixed_texts(fmt: Format, seed: int, data: st.DataObject) -> None:
    text = random_mrz(random.Random(seed), fmt)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text) - 1))
        if text[pos] != "\n":
            text = text[:pos] + data.draw(st.sampled_from(CHARSET + "a«")) + text[pos + 1 :]
    for ocr in (False, True):
        result = parse_mrz(text, ocr=ocr, today=TODAY)
        for issue in result.errors + result.warnings:
            assert re.sub(r"\d+", "#", issue.message) in MESSAGES


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.text())))
def test_only_non_text_raises(value: object) -> None:
    try:
        parse_mrz(value)  # type: ignore[arg-type]  # deliberately wrong type
    except DocumentError:
        pass
    else:
        raise AssertionError("non-text input must raise DocumentError")


@settings(max_examples=300, deadline=None)
@given(text=st.text(CHARSET, max_size=60))
def test_check_digit_definition(text: str) -> None:
    weights = (7, 3, 1)
    # ICAO 9303 part 3, section 4.9, written out independently of the module under test.
    values = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")} | {"<": 0}
    expected = sum(values[c] * weights[i % 3] for i, c in enumerate(text)) % 10
    assert check_digit(text) == str(expected)


def test_check_digit_refuses_other_characters() -> None:
    for bad in ("abc", "A B", "«", "É"):
        try:
            check_digit(bad)
        except DocumentError:
            continue
        raise AssertionError(f"check_digit accepted {bad!r}")
