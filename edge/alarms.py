"""Operator alarms: raised once, visible in the API, metrics and log until cleared."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

import msgspec

from edge.records import utc_timestamp

log = logging.getLogger("midas_edge.alarms")


class Alarm(msgspec.Struct, frozen=True):
    """An active (or just cleared) condition an operator must see."""

    code: str
    message: str
    raised_at: str
    active: bool = True
    # Stays active until an officer acknowledges it (`acknowledge()`), never clears by itself.
    ack_required: bool = False


class Acknowledged(StrEnum):
    DONE = "acknowledged"
    NOT_ACTIVE = "not_active"
    CLEARS_BY_ITSELF = "clears_by_itself"  # a condition, not an event: it clears when fixed


class Alarms:
    """The set of active alarms; each transition is logged once and reported to `on_change`."""

    def __init__(self) -> None:
        self._active: dict[str, Alarm] = {}
        self._listeners: list[Callable[[Alarm], None]] = []

    def add_listener(self, on_change: Callable[[Alarm], None]) -> None:
        self._listeners.append(on_change)

    def raise_(self, code: str, message: str, *, ack_required: bool = False) -> None:
        """Raise `code`; while it stays active, raising it again is silent. With
        `ack_required` it stays until `acknowledge()`."""
        if code in self._active:
            return
        raised_at = utc_timestamp(time.time_ns() // 1_000_000)
        alarm = Alarm(code, message, raised_at, ack_required=ack_required)
        self._active[code] = alarm
        log.error("alarm raised", extra={"alarm": code, "detail": message})
        for listener in self._listeners:
            listener(alarm)

    def clear(self, code: str) -> None:
        alarm = self._active.pop(code, None)
        if alarm is None:
            return
        log.warning("alarm cleared", extra={"alarm": code})
        cleared = msgspec.structs.replace(alarm, active=False)
        for listener in self._listeners:
            listener(cleared)

    def acknowledge(self, code: str) -> Acknowledged:
        """An officer's acknowledgement: clears `code` if it is active and waits for one."""
        alarm = self._active.get(code)
        if alarm is None:
            return Acknowledged.NOT_ACTIVE
        if not alarm.ack_required:
            return Acknowledged.CLEARS_BY_ITSELF
        log.info("alarm acknowledged", extra={"alarm": code})
        self.clear(code)
        return Acknowledged.DONE

    def is_active(self, code: str) -> bool:
        return code in self._active

    def active(self) -> list[Alarm]:
        return sorted(self._active.values(), key=lambda a: a.raised_at)
