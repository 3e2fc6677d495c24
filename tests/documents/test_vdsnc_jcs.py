"""RFC 8785 (JCS) canonicalisation used to verify VDS-NC signatures: the RFC's own examples."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.documents.jcs import CanonicalizationError, canonicalize, format_number

# RFC 8785 appendix B: IEEE 754 doubles and their canonical text.
NUMBER_SAMPLES = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("ieee", "text"), NUMBER_SAMPLES)
def test_rfc8785_number_samples(ieee: str, text: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(ieee))
    assert format_number(number) == text


@pytest.mark.parametrize("ieee", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinities_have_no_canonical_form(ieee: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(ieee))
    with pytest.raises(CanonicalizationError):
        format_number(number)


def test_rfc8785_section_3_2_2_example() -> None:
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(json.loads(source)) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_sorting_by_utf16_code_units() -> None:
    source = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    values = json.loads(canonicalize(source)).values()
    assert list(values) == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_integers_are_numbers_like_any_other() -> None:
    assert canonicalize([1, -0, 10**21, 2**53 + 1, 1.0]) == b"[1,0,1e+21,9007199254740992,1]"


def test_nested_structures_have_no_whitespace() -> None:
    value = {"b": [1, {"d": None, "c": "x"}], "a": {}}
    assert canonicalize(value) == b'{"a":{},"b":[1,{"c":"x","d":null}]}'


@pytest.mark.parametrize(
    "value",
    [{1: "x"}, "\ud800", [math.inf], 10**400, b"bytes", {"a": {1, 2}}],
)
def test_values_outside_i_json_are_refused(value: object) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize(value)


def test_deep_nesting_is_refused() -> None:
    deep: list[Any] = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(CanonicalizationError):
        canonicalize(deep)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_JSON)
def test_canonical_text_parses_back_to_the_same_value_and_is_stable(value: object) -> None:
    try:
        canonical = canonicalize(value)
    except CanonicalizationError:
        return  # lone surrogates in generated text
    parsed = json.loads(canonical)
    assert canonicalize(parsed) == canonical
    assert _as_floats(parsed) == _as_floats(value)


def _as_floats(value: object) -> object:
    # JSON has one number type: compare integers and floats as doubles.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_as_floats(item) for item in value]
    assert isinstance(value, dict)
    return {key: _as_floats(item) for key, item in value.items()}
