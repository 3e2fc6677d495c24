"""The reference receiver: what a regional server runs to accept workstations' batches.

ReceiverError
├── StorageError    the database failed (the batch is not answered: the workstation retries)
└── SetupError      the receiver cannot start as configured (a bad trust dir, TLS files, --db)
"""

from __future__ import annotations


class ReceiverError(Exception):
    """Root of every receiver error."""


class StorageError(ReceiverError):
    """The database failed; nothing of the current operation is committed."""


class SetupError(ReceiverError):
    """The receiver cannot start as configured."""
