"""Error root of the daemon core.

EdgeError
├── ConfigError            the config file is missing, unreadable or invalid
├── StoreError             the record store failed; always loud
│   ├── StoreVersionError  the database was written by a newer release (no downgrade)
│   └── StorageFullError   quota or disk headroom reached: the capture was refused
├── CaptureRefused         the pipeline did not accept a capture (shutting down, full)
├── DocumentError          input to a document parser is not text at all
└── PortraitError          (edge.portrait.errors) not an image, no camera, JPEG failed

Messages never carry personal data (names, document numbers, MRZ lines, images).
"""

from __future__ import annotations


class EdgeError(Exception):
    """Root of every error raised by the daemon core."""


class ConfigError(EdgeError):
    """The configuration cannot be used; the message names file, key and what was expected."""

    def __init__(self, source: str, key: str, expected: str) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {expected}")


class StoreError(EdgeError):
    """The record store failed."""


class StoreVersionError(StoreError):
    """The database schema is newer than this release understands."""


class StorageFullError(StoreError):
    """Quota or disk headroom reached; the capture was refused, not dropped."""


class CaptureRefused(EdgeError):
    """The pipeline refused a capture; the reason is in the message."""


class DocumentError(EdgeError):
    """Input given to a document parser is not text (or bytes) at all."""
