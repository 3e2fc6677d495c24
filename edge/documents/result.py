"""Common result shape of every document parser: fields, per-check verdicts, errors, corrections."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec


class Check(StrEnum):
    """Outcome of one check on a document."""

    PASSED = "passed"
    FAILED = "failed"
    UNDETERMINED = "undetermined"
    NOT_APPLICABLE = "not_applicable"
    NOT_SUPPORTED = "not_supported"


class Issue(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """An error or warning: a stable machine code, words for people, and where it is.

    `line` and `column` are 1-based. The message never repeats the document's data.
    """

    code: str
    message: str
    line: int | None = None
    column: int | None = None


class Correction(msgspec.Struct, frozen=True, gc=False):
    """One character repaired by OCR correction, proven by check digits."""

    field: str
    line: int
    column: int
    original: str
    replacement: str


class ParseResult(msgspec.Struct, omit_defaults=False, gc=False):
    """What every parser returns; invalid input is a result, never an exception."""

    valid: bool
    format: str
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    checks: dict[str, Check] = msgspec.field(default_factory=dict)
    errors: list[Issue] = msgspec.field(default_factory=list)
    warnings: list[Issue] = msgspec.field(default_factory=list)
    corrections: list[Correction] = msgspec.field(default_factory=list)
