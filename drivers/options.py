"""Declarative driver options: each family lists what it accepts, checked before anything opens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Option:
    """One driver option: its type, default and allowed values."""

    name: str
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: Any) -> Any:
        expected = type(self.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            raise ValueError(f"{self.name}: expected {_type_name(expected)}, got {value!r}")
        if self.choices and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ValueError(f"{self.name}: expected one of {allowed}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{self.name}: expected at least {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{self.name}: expected at most {self.maximum:g}, got {value!r}")
        return value


def resolve(spec: Sequence[Option], options: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of `spec`, given or default; ValueError naming the first bad one."""
    known = {o.name: o for o in spec}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return {
        name: (option.check(options[name]) if name in options else option.default)
        for name, option in known.items()
    }


def _type_name(t: type) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(
        t, t.__name__
    )


def text_bytes(value: str) -> bytes:
    r"""An option string with escapes (`\r`, `\x02`, ...) as the bytes it names."""
    try:
        return value.encode("latin-1").decode("unicode_escape").encode("latin-1")
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        raise ValueError(
            f"expected ASCII text with \\r, \\n or \\xNN escapes ({exc.reason})"
        ) from exc


def option_bytes(options: Mapping[str, Any], name: str) -> bytes:
    """The bytes an escaped-text option names (empty when not given); ValueError naming it."""
    try:
        return text_bytes(str(options.get(name, "")))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def escaped(data: bytes) -> str:
    r"""Bytes as an option string with `\xNN` escapes: what `text_bytes` reads back."""
    return "".join(f"\\x{b:02x}" for b in data)
