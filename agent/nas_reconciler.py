"""The daemon's own NAS reconciliation: one long-lived task per NAS sink with `reconcile_every`.

The first check comes a while after start (the backlog drains first): `min(reconcile_every,
FIRST_AFTER_S)` plus as much again at most, at random, so the workstations of a region that
start together do not all read the share at once; then one every `reconcile_every` after the
previous one ended. A check is `agent/nas_reconcile.py`'s, with a repair: in a worker thread, on
a read-only store connection of its own (`agent/outbox.py`), reading the share under the sink's
timeout; then the missing and damaged records still held back to pending through the daemon's
own store writer (`Store.apply`: no second write connection, so a capture never waits on this),
`REQUEUE_ROWS` records per transaction, and the sink's scheduler woken so they are written again
at once. A check due while the sink is not ok (an unmounted share, a hung mount: the scheduler
reports it) is skipped and looked at again `min(reconcile_every, FIRST_AFTER_S)` later. A failed
check is logged and made again at the next period; nothing here stops the daemon. Every run is
reported to a `ReconcileObserver` (the composition root turns it into an event, metrics and the
`share_lost:<sink>` alarm). Logs and reports carry counts and seq ranges, never record content.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from agent import nas_reconcile, outbox
from agent.nas_reconcile import ReconcileError, Report
from agent.nas_sink import NasSink
from agent.outbox import OutboxError
from agent.scheduler import SinkScheduler
from agent.sink_status import SinkState
from edge.errors import StoreError
from edge.store import Store

log = logging.getLogger("midas_edge.forwarding")

# The longest wait before the first check, and between looks while the sink is not ok.
FIRST_AFTER_S = 600.0
LOG_RANGES = 200  # characters of seq ranges in a log line (the event has them all)


class ReconcileResult(StrEnum):
    INTACT = "intact"  # the share holds every delivered record, intact
    REPAIRED = "repaired"  # missing or damaged records were re-queued
    LOST = "lost"  # records purged here are missing or damaged there (maybe repairs too)
    FAILED = "failed"  # the check could not be made (share unreadable or hung, store error)
    SKIPPED = "skipped"  # the sink was not ok: no check


@dataclass(frozen=True, slots=True)
class ReconcileRun:
    """One run of a sink's periodic check: its result, and the report of a check made."""

    sink: str
    result: ReconcileResult
    report: Report | None = None
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        """The `reconcile` event's data: counts and seq ranges only."""
        data: dict[str, Any] = {"sink": self.sink, "result": self.result.value}
        if self.report is not None:
            data.update(self.report.as_json())
        if self.error:
            data["error"] = self.error
        return data


class ReconcileObserver(Protocol):
    """Where the periodic checks report (the composition root: events, metrics, alarm)."""

    def sink_reconciled(self, run: ReconcileRun) -> None: ...


class NasReconciler:
    """Checks one NAS sink's share every `reconcile_every` seconds; `run()` is one task."""

    def __init__(
        self,
        scheduler: SinkScheduler,
        store: Store,
        data_dir: Path,
        workstation: str,
        observer: ReconcileObserver,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.config = scheduler.config
        self.every_s = scheduler.config.reconcile_every or 0.0
        self.soon_s = min(self.every_s, FIRST_AFTER_S)
        sink = scheduler.sink
        self._require_mount = sink.require_mount if isinstance(sink, NasSink) else None
        self._store = store
        self._data_dir = data_dir
        self._workstation = workstation
        self._observer = observer
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not cryptography
        self._skipping = False

    async def run(self) -> None:
        delay = self.soon_s + self._rng.uniform(0, self.soon_s)
        while True:
            await asyncio.sleep(delay)
            run = await self.run_once()
            delay = self.soon_s if run.result is ReconcileResult.SKIPPED else self.every_s

    async def run_once(self) -> ReconcileRun:
        """One check with its repair now, unless the sink is not ok; reported and returned."""
        name = self.config.name
        state = self.scheduler.status.state
        if state is SinkState.OK:
            self._skipping = False
            run = await self._check()
        else:
            if not self._skipping:
                log.info("share check skipped while the sink is not ok", extra={"sink": name})
            self._skipping = True
            run = ReconcileRun(name, ReconcileResult.SKIPPED, error=f"the sink is {state.value}")
        try:
            self._observer.sink_reconciled(run)
        except Exception:  # reporting must not stop the checks, nor the sinks beside them
            log.exception("share check could not be reported", extra={"sink": name})
        return run

    async def _check(self) -> ReconcileRun:
        name = self.config.name
        stop = threading.Event()
        try:
            report = await asyncio.to_thread(self._check_blocking, stop)
            if report.missing.count or report.damaged.count:
                report.requeued = await self._requeue(report)
        except (ReconcileError, OutboxError, sqlite3.Error, StoreError) as exc:
            log.warning(
                "share check failed; made again at the next period",
                extra={"sink": name, "error": str(exc)},
            )
            return ReconcileRun(name, ReconcileResult.FAILED, error=str(exc))
        except Exception as exc:  # a bug must not end the checks, nor the daemon
            log.error("share check raised an unexpected error", exc_info=exc, extra={"sink": name})
            return ReconcileRun(name, ReconcileResult.FAILED, error=type(exc).__name__)
        finally:
            stop.set()  # a cancelled check ends its thread at the reader's next poll
        result = ReconcileResult.INTACT
        if report.lost.count:
            result = ReconcileResult.LOST
        elif report.missing.count or report.damaged.count:
            result = ReconcileResult.REPAIRED
        _log(report, result)
        return ReconcileRun(name, result, report)

    def _check_blocking(self, stop: threading.Event) -> Report:
        """The check, in a worker thread on a read-only store connection of its own."""
        conn = outbox.connect(self._data_dir, read_only=True)
        try:
            return nas_reconcile.check(
                conn, self.config, self._workstation, require_mount=self._require_mount, stop=stop
            )
        finally:
            conn.close()

    async def _requeue(self, report: Report) -> int:
        """The missing and damaged records still held back to pending, through the store's
        writer, one short transaction per batch; the sink starts on each batch at once."""
        count = 0
        for rows in nas_reconcile.requeue_batches(report):
            changed = await self._store.apply([(nas_reconcile.REQUEUE_SQL, rows)])
            if changed:
                count += changed
                self.scheduler.wake()
        return count


def _log(report: Report, result: ReconcileResult) -> None:
    extra: dict[str, Any] = {
        "sink": report.sink,
        "result": result.value,
        "checked": report.checked,
        "intact": report.intact,
        "missing": report.missing.count,
        "damaged": report.damaged.count,
        "lost": report.lost.count,
        "unknown": report.unknown,
        "requeued": report.requeued or 0,
    }
    for word, seqs in (("missing", report.missing), ("damaged", report.damaged)):
        if seqs.count:
            extra[f"{word}_seqs"] = seqs.text()[:LOG_RANGES]
    if report.lost.count:
        extra["lost_seqs"] = report.lost.text()[:LOG_RANGES]
        log.error("share checked: records purged here are lost there", extra=extra)
    elif result is ReconcileResult.REPAIRED:
        log.warning("share checked: missing or damaged records sent again", extra=extra)
    else:
        log.info("share checked", extra=extra)
