"""What the delivery loop of each sink reports: its state, backlog and age, to an observer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class SinkState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    DEGRADED = "degraded"  # batches fail for now (network, 5xx, timeouts)
    UNAVAILABLE = "unavailable"  # the target is not there (unmounted share, hung mount)
    FAILED = "failed"  # the sink cannot work as configured


@dataclass(frozen=True, slots=True)
class SinkStatus:
    """What a sink looks like now: published as "sink" events and metrics, shown in health."""

    sink: str
    state: SinkState
    backlog: int
    oldest_age_s: float | None
    error: str = ""


class Observer(Protocol):
    """Where the scheduler reports (the composition root turns it into metrics and events)."""

    def sink_counted(self, sink: str, delivered: int, rejected: int, failed: int) -> None: ...

    def sink_changed(self, status: SinkStatus) -> None: ...
