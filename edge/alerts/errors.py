"""Errors of the alert lists (the tree is drawn in `edge.alerts`)."""

from __future__ import annotations

from edge.errors import EdgeError


class AlertListError(EdgeError):
    """An alert list, its key or its input cannot be used."""


class ListRefused(AlertListError):
    """A list file was refused; `code` is stable, the message never quotes the file."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class BuildError(AlertListError):
    """Headquarters' input cannot become a list; the message names the line, not its values."""
