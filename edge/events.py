"""In-process fan-out of events (records, device changes, alarms) to local API subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SUBSCRIBER_QUEUE = 1024


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its SSE type, JSON data, and the record sequence number for record events."""

    type: str
    data: bytes
    seq: int | None = None


_CLOSED = Event("closed", b"null")


class Subscription:
    """A bounded mailbox. When it overflows it is marked lagged and emptied; the reader
    catches up from the store instead of the hub ever blocking or growing."""

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self.lagged = False
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True
            while not self._queue.empty():
                self._queue.get_nowait()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_CLOSED)

    async def get(self) -> Event | None:
        """The next event, or None once the hub closed."""
        event = await self._queue.get()
        return None if event is _CLOSED else event


class Hub:
    """Publishes to every subscriber without waiting; never blocks the publisher."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self.closed = False

    @contextmanager
    def subscribe(self, maxsize: int = SUBSCRIBER_QUEUE) -> Iterator[Subscription]:
        sub = Subscription(maxsize)
        if self.closed:
            sub.close()
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    def publish(self, event: Event) -> None:
        for sub in self._subscribers:
            sub.offer(event)

    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def close(self) -> None:
        self.closed = True
        for sub in self._subscribers:
            sub.close()
