"""Late alert hits wait for an officer: one alarm per amendment, kept until acknowledged.

A hit found by a re-check concerns a traveller who has already left the counter, so it must not
scroll away with the next record: it raises the alarm `alert_late_hit:<amendment record id>`
(`ack_required`: it never clears by itself) that the console shows on top until the officer
acknowledges it (`POST /v1/alarms/{code}/ack`). The unacknowledged ones are kept in
`<data_dir>/alert-late-hits` (0600, record ids, list versions and categories only) and raised
again at the next start, so a hit found while nobody watched the console is still seen.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import msgspec

from edge.alarms import Alarm, Alarms
from edge.store.files import write_private

log = logging.getLogger("midas_edge.alerts")

LATE_FILE = "alert-late-hits"
CODE_PREFIX = "alert_late_hit:"


class LateHit(msgspec.Struct, frozen=True, kw_only=True):
    """An unacknowledged late hit: the amendment record and what it amends (no personal data)."""

    amendment: str  # the amendment record's id
    seq: int  # the amendment record's sequence number
    amends: str | None  # the original record's id
    list_version: int | None
    categories: list[str]

    @property
    def code(self) -> str:
        return CODE_PREFIX + self.amendment

    @property
    def message(self) -> str:
        what = " and ".join(c.replace("_", " ") for c in self.categories) or "an alert"
        return (
            f"late alert hit ({what}) on an earlier traveller, found with alert list "
            f"v{self.list_version}: amendment record {self.seq}; call headquarters, then "
            "acknowledge it on the console"
        )


_decode = msgspec.json.Decoder(list[LateHit])
_encode = msgspec.json.Encoder()


def read_late(path: Path) -> list[LateHit]:
    """The kept late hits; an unreadable file is logged and taken as none."""
    try:
        return _decode.decode(path.read_bytes())
    except FileNotFoundError:
        return []
    except (OSError, msgspec.DecodeError) as exc:
        log.error("late alert hits unreadable", extra={"detail": type(exc).__name__})
        return []


def write_late(path: Path, hits: list[LateHit]) -> None:
    """`hits` at `path` (0600), replaced whole."""
    write_private(path, _encode.encode(hits))


class LateHits:
    """The unacknowledged late hits, their alarms and their file. `run()` keeps the file."""

    def __init__(self, data_dir: Path, alarms: Alarms) -> None:
        self.path = data_dir / LATE_FILE
        self._alarms = alarms
        self._hits: dict[str, LateHit] = {}  # alarm code -> hit
        self._changed = asyncio.Event()
        self._writing: asyncio.Future[None] | None = None
        alarms.add_listener(self._alarm_changed)

    async def load(self) -> None:
        """Raise the alarms of the hits kept from before the last stop."""
        for hit in await asyncio.to_thread(read_late, self.path):
            self._raise(hit)

    def add(self, hit: LateHit) -> None:
        if hit.code not in self._hits:
            self._raise(hit)
            self._changed.set()

    def _raise(self, hit: LateHit) -> None:
        self._hits[hit.code] = hit
        self._alarms.raise_(hit.code, hit.message, ack_required=True)

    def pending(self) -> list[LateHit]:
        return list(self._hits.values())

    def _alarm_changed(self, alarm: Alarm) -> None:
        if not alarm.active and self._hits.pop(alarm.code, None) is not None:
            self._changed.set()  # acknowledged

    async def run(self) -> None:
        """Write the file after every change (off the loop); at the stop, the last change too."""
        try:
            while True:
                await self._changed.wait()
                await self._write()
        finally:
            # A write the stop interrupted goes on in its thread: let it end before the last one.
            interrupted, self._writing = self._writing, None
            if interrupted is not None:
                await asyncio.wait({interrupted})
                if not interrupted.cancelled() and interrupted.exception() is not None:
                    log.error("late alert hits not kept", extra={"detail": "write failed"})
            if self._changed.is_set():
                await self._write()

    async def _write(self) -> None:
        self._changed.clear()
        writing = asyncio.ensure_future(asyncio.to_thread(write_late, self.path, self.pending()))
        self._writing = writing
        try:
            await asyncio.shield(writing)
        except OSError as exc:
            # The alarms stay raised; only a restart before the next change would lose them.
            log.error("late alert hits not kept", extra={"detail": exc.strerror})
        self._writing = None
