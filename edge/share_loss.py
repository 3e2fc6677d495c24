"""The `share_lost:<sink>` alarm: records purged here and missing or damaged on a NAS share.

The loss cannot be undone by the workstation, so the alarm is an event to acknowledge, not a
condition that ends by itself. An acknowledged loss is kept in the data dir (0600): later checks
that find the same loss stay quiet, across restarts too; a different loss raises the alarm
again; a check that finds nothing lost (files restored from a backup) clears it and forgets the
acknowledgement. Only sink names and seq ranges are kept, never record content.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import msgspec

from edge.alarms import Alarm, Alarms
from edge.store.files import write_private

log = logging.getLogger("midas_edge.forwarding")

PREFIX = "share_lost:"
ACKNOWLEDGED_FILE = "share_lost_acknowledged.json"
_decoder = msgspec.json.Decoder(dict[str, str])


class ShareLosses:
    """Per NAS sink: the loss its alarm was raised for, and the loss an operator acknowledged."""

    def __init__(self, data_dir: Path, alarms: Alarms) -> None:
        self.path = data_dir / ACKNOWLEDGED_FILE
        self._alarms = alarms
        self._raised: dict[str, str] = {}  # sink -> lost seqs of the active alarm
        self._acknowledged = self._read()
        self._lock = asyncio.Lock()
        self._writes: set[asyncio.Task[None]] = set()
        alarms.add_listener(self._alarm_changed)

    def found(self, sink: str, count: int, seqs: str) -> None:
        """The latest check of `sink`'s share found `count` records lost (`seqs`: their ranges)."""
        code = PREFIX + sink
        if not count:
            self._raised.pop(sink, None)
            if self._acknowledged.pop(sink, None) is not None:
                self._keep()
            self._alarms.clear(code)
            return
        if seqs == self._raised.get(sink):
            return  # known, still waiting for an acknowledgement
        if seqs == self._acknowledged.get(sink):
            # Back to the loss already acknowledged: an alarm of another loss since then ends.
            if self._raised.pop(sink, None) is not None:
                self._alarms.clear(code)
            return
        self._raised.pop(sink, None)  # superseded by this loss: not an acknowledgement
        self._alarms.clear(code)
        self._raised[sink] = seqs
        self._alarms.raise_(
            code,
            f"sink {sink}: {count} records purged from this workstation are missing or damaged"
            f" on the share and cannot be sent again (seqs {seqs[:200]})",
            ack_required=True,
        )

    def _alarm_changed(self, alarm: Alarm) -> None:
        if alarm.active or not alarm.code.startswith(PREFIX):
            return
        sink = alarm.code.removeprefix(PREFIX)
        seqs = self._raised.pop(sink, None)
        if seqs is not None:  # cleared while raised: an operator acknowledged it
            self._acknowledged[sink] = seqs
            self._keep()

    def _keep(self) -> None:
        """Write the acknowledged losses off the loop; the latest state wins."""
        task = asyncio.get_running_loop().create_task(self._write(), name="share-lost-file")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self) -> None:
        async with self._lock:
            data = msgspec.json.encode(self._acknowledged)
            try:
                await asyncio.to_thread(write_private, self.path, data)
            except OSError as exc:
                # Only a restart before the next write would raise the known loss again.
                log.error("acknowledged share losses not kept", extra={"error": exc.strerror})

    async def flush(self) -> None:
        """Wait for the writes in progress (a stopping daemon keeps what was acknowledged)."""
        while self._writes:
            await asyncio.wait(set(self._writes))

    def _read(self) -> dict[str, str]:
        try:
            return _decoder.decode(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, msgspec.DecodeError):
            log.error("acknowledged share losses unreadable; a known loss is raised again")
            return {}
