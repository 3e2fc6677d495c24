"""The sink contract: where sealed records go (a NAS share, a regional server).

SinkError
├── TransientError      the whole batch failed for now (network, timeout, 5xx, 429, unmounted
│   │                   share): retry later, no earlier than `retry_after` when the sink knows
│   ├── SinkUnavailable the target is not there at all (share not mounted, sentinel missing)
│   └── BatchTooLarge   the target refused the batch for its size (HTTP 413): the scheduler
│                       halves it; a single record that is too large becomes a dead letter
└── SinkConfigError     the sink cannot work as configured (a bad CA file, a bad URL)

A sink answers each record of a batch with a `Delivery`: delivered (with the receiver's
receipt) or rejected (never acceptable: the scheduler parks it as a dead letter). A record
left without an answer is retried. Sinks are idempotent by record id: sending a record twice
is harmless, and the answer is the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class SinkError(Exception):
    """Root of every sink error."""


class TransientError(SinkError):
    """The batch did not go through now; retry later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SinkUnavailable(TransientError):
    """The target is not there (an unmounted share, an unreachable server)."""


class BatchTooLarge(TransientError):
    """The target refused the batch for its size; a smaller batch may go through."""


class SinkConfigError(SinkError):
    """The sink cannot work as configured."""


@dataclass(frozen=True, slots=True)
class BlobFile:
    """An image referenced by a record: its digest, media type and where it lies."""

    sha256: str
    media_type: str
    size: int
    path: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One sealed record ready to leave the workstation."""

    seq: int
    id: str
    body: bytes  # the record's exact JSON bytes
    prev: bytes
    hash: bytes
    sig: bytes
    blobs: tuple[BlobFile, ...] = ()
    key_id: str = ""  # of the key that sealed it (a batch never mixes keys)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A sink's answer for one record."""

    seq: int
    outcome: Outcome
    receipt: str = ""  # the receiver's receipt (JSON text) or the NAS manifest name
    reason: str = ""  # for rejections: a code, never record content


class Sink(ABC):
    """One delivery target. `open()`/`close()` are idempotent; `send()` never blocks the loop."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        """Deliver `batch` (in seq order); raises TransientError when the whole batch failed."""

    @abstractmethod
    async def close(self) -> None: ...
