"""RFC 8785 JSON Canonicalization Scheme (JCS) for values decoded from JSON.

Object members sorted by their names' UTF-16 code units, no whitespace, strings escaped only where
JSON requires it (lower-case `\\u00xx` for other control characters), numbers as IEEE 754 doubles
written the ECMAScript `Number.prototype.toString` way (integers included: JSON has one number
type). Values that I-JSON excludes (NaN, infinities, lone surrogates, non-string member names)
raise CanonicalizationError.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["MAX_DEPTH", "CanonicalizationError", "canonicalize", "format_number"]

MAX_DEPTH = 100

_ESCAPES = {ord('"'): '\\"', ord("\\"): "\\\\"}
_ESCAPES.update({code: f"\\u{code:04x}" for code in range(0x20)})
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"})


class CanonicalizationError(ValueError):
    """The value has no JCS canonical form."""


def canonicalize(value: object) -> bytes:
    """The UTF-8 bytes of the JCS canonical form of a JSON value."""
    out: list[str] = []
    _emit(value, out, 0)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError("a string holds a lone surrogate") from exc


def format_number(number: float) -> str:
    """Write a double as ECMAScript's Number.prototype.toString does (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(number):
        raise CanonicalizationError("NaN and infinities have no JSON form")
    if number == 0:
        return "0"  # minus zero included
    sign = "-" if number < 0 else ""
    # repr() gives the shortest digit string that round-trips, the same digits ECMAScript picks.
    mantissa, _, exponent_text = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    exponent = int(exponent_text or "0") - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = exponent + k  # value = 0.digits x 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        power = n - 1
        head = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{head}e{'+' if power > 0 else '-'}{abs(power)}"
    return sign + text


def _emit(value: object, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalizationError(f"nesting deeper than {MAX_DEPTH} levels")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        try:
            out.append(format_number(float(value)))
        except OverflowError as exc:
            raise CanonicalizationError("an integer is too large for a double") from exc
    elif isinstance(value, float):
        out.append(format_number(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, Mapping):
        _emit_object(value, out, depth)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _emit(item, out, depth + 1)
        out.append("]")
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


def _emit_object(value: Mapping[object, object], out: list[str], depth: int) -> None:
    names: list[str] = []
    for name in value:
        if not isinstance(name, str):
            raise CanonicalizationError("object member names must be strings")
        names.append(name)
    # UTF-16 code unit order; big-endian bytes compare the same way as the code units.
    names.sort(key=lambda name: name.encode("utf-16-be", "surrogatepass"))
    out.append("{")
    for index, name in enumerate(names):
        if index:
            out.append(",")
        out.append(_string(name))
        out.append(":")
        _emit(value[name], out, depth + 1)
    out.append("}")


def _string(text: str) -> str:
    return '"' + text.translate(_ESCAPES) + '"'
