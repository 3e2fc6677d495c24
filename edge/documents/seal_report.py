"""Accumulates the fields, checks and issues of one seal and turns them into a ParseResult."""

from __future__ import annotations

from typing import Any

from edge.documents.result import Check, Issue, ParseResult
from edge.documents.seal_crypto import Verdict, verdict_check

__all__ = ["SealReport"]


class SealReport:
    """Mutable collector used while a seal is parsed; `result()` freezes it."""

    def __init__(self, format_name: str) -> None:
        self.format = format_name
        self.fields: dict[str, Any] = {}
        self.checks: dict[str, Check] = {}
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.structure_ok = True

    def error(self, code: str, message: str, offset: int | None = None) -> None:
        """Record an error; `offset` is 0-based and reported as a 1-based column."""
        self.errors.append(Issue(code, message, column=None if offset is None else offset + 1))

    def structure_error(self, code: str, message: str, offset: int | None = None) -> None:
        """Record an error that makes the seal structurally invalid."""
        self.structure_ok = False
        self.error(code, message, offset)

    def warn(self, code: str, message: str, offset: int | None = None) -> None:
        """Record a warning; `offset` is 0-based and reported as a 1-based column."""
        self.warnings.append(Issue(code, message, column=None if offset is None else offset + 1))

    def result(self, verdict: Verdict) -> ParseResult:
        """Freeze into a ParseResult: valid only with no error and a verifying signature."""
        self.fields["signature_verdict"] = verdict.value
        checks = {"structure": Check.PASSED if self.structure_ok else Check.FAILED}
        checks["signature"] = verdict_check(verdict)
        checks.update(self.checks)
        return ParseResult(
            valid=not self.errors and verdict is Verdict.VALID,
            format=self.format,
            fields=self.fields,
            checks=checks,
            errors=self.errors,
            warnings=self.warnings,
        )
