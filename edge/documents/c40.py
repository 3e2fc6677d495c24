"""C40 text codec of ICAO Doc 9303 part 13 and BSI TR-03137 annex B: three characters in two bytes.

Alphabet: space (value 3), `0-9` (4-13), `A-Z` (14-39); `<` is encoded as a space. Each triple
c1 c2 c3 becomes U = 1600·c1 + 40·c2 + c3 + 1, written big-endian in two bytes. Two characters
left over are completed with shift value 0; a single character left over is written as `0xFE`
followed by its ASCII code plus one.
"""

from __future__ import annotations

__all__ = ["C40Error", "decode", "encode", "encoded_length"]

_ALPHABET = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FIRST_VALUE = 3  # values 0-2 are the DataMatrix shift characters
_VALUES = {char: index + _FIRST_VALUE for index, char in enumerate(_ALPHABET)}
_UNLATCH = 0xFE
_MAX_TRIPLE = 64000


class C40Error(ValueError):
    """The text cannot be C40-encoded, or the bytes are not valid C40."""


def encoded_length(chars: int) -> int:
    """Number of bytes that `chars` characters take once C40-encoded."""
    return chars // 3 * 2 + (2 if chars % 3 else 0)


def encode(text: str) -> bytes:
    """Encode upper-case letters, digits, spaces and `<` (as space) into C40 bytes."""
    text = text.replace("<", " ")
    values: list[int] = []
    for position, char in enumerate(text, start=1):
        value = _VALUES.get(char)
        if value is None:
            raise C40Error(f"character {position} is outside the C40 alphabet (A-Z, 0-9, space, <)")
        values.append(value)
    out = bytearray()
    whole = len(values) - len(values) % 3
    for index in range(0, whole, 3):
        _pack(out, values[index], values[index + 1], values[index + 2])
    rest = values[whole:]
    if len(rest) == 2:
        _pack(out, rest[0], rest[1], 0)
    elif len(rest) == 1:
        out += bytes((_UNLATCH, ord(text[-1]) + 1))
    return bytes(out)


def decode(data: bytes) -> str:
    """Decode C40 bytes; `<` comes back as a space (the caller knows which fields use fillers)."""
    if len(data) % 2:
        raise C40Error(f"C40 data has an odd length ({len(data)} bytes)")
    chars: list[str] = []
    last = len(data) - 2
    for index in range(0, len(data), 2):
        first, second = data[index], data[index + 1]
        if first == _UNLATCH:
            if index != last:
                raise C40Error(f"C40 unlatch byte at offset {index} is not in the last pair")
            char = chr(second - 1) if second else ""
            if char not in _VALUES:
                raise C40Error(f"C40 single character at offset {index + 1} is not in the alphabet")
            chars.append(char)
            continue
        triple = first * 256 + second
        if not 1 <= triple <= _MAX_TRIPLE:
            raise C40Error(f"C40 pair at offset {index} is out of range")
        triple -= 1
        values = (triple // 1600, triple // 40 % 40, triple % 40)
        chars.extend(_triple_chars(values, index, final=index == last))
    return "".join(chars)


def _triple_chars(values: tuple[int, int, int], offset: int, *, final: bool) -> list[str]:
    # Shift value 0 pads the last triple; anything else below 3 is a DataMatrix shift that
    # the seal specifications never use.
    kept = list(values)
    if final:
        # Tolerated beyond the rules: one character padded with two shifts.
        while len(kept) > 1 and kept[-1] == 0:
            kept.pop()
    out: list[str] = []
    for value in kept:
        if value < _FIRST_VALUE:
            raise C40Error(f"C40 pair at offset {offset} holds a shift value")
        out.append(_ALPHABET[value - _FIRST_VALUE])
    return out


def _pack(out: bytearray, first: int, second: int, third: int) -> None:
    triple = 1600 * first + 40 * second + third + 1
    out += bytes((triple >> 8, triple & 0xFF))
