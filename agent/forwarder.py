"""The forwarder: the configured sinks, one scheduler task per sink, the periodic NAS share
checks, and retention."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from agent.http_sink import HttpSink
from agent.nas_reconciler import NasReconciler, ReconcileObserver, ReconcileRun
from agent.nas_sink import NasSink
from agent.retention import Retention
from agent.scheduler import SinkScheduler
from agent.sink import Sink
from agent.sink_status import Observer
from edge.config import Config, SinkConfig
from edge.store import Store

log = logging.getLogger("midas_edge.forwarding")

CLOSE_TIMEOUT_S = 5.0

SinkFactory = Callable[[SinkConfig], Sink]


class _Unobserved:
    def sink_reconciled(self, run: ReconcileRun) -> None:
        return None  # the reconciler logs every run itself


class Forwarder:
    """Owns the sinks, their schedulers, the NAS share checks and the retention task; `run()`
    until cancelled."""

    def __init__(
        self,
        config: Config,
        store: Store,
        key_id: str,
        observer: Observer,
        *,
        sink_factory: SinkFactory | None = None,
        clock: Callable[[], float] = time.time,
        reconciled: ReconcileObserver | None = None,
    ) -> None:
        workstation = config.workstation.id

        def default_factory(sink: SinkConfig) -> Sink:
            if sink.kind == "nas":
                return NasSink(sink, workstation, key_id)
            return HttpSink(sink, workstation, key_id)

        factory = sink_factory or default_factory
        self.schedulers = [
            SinkScheduler(factory(s), s, config.forwarding, store, observer, clock=clock)
            for s in config.sinks
        ]
        self.reconcilers = [
            NasReconciler(s, store, config.data_dir, workstation, reconciled or _Unobserved())
            for s in self.schedulers
            if s.config.kind == "nas" and s.config.reconcile_every
        ]
        self.retention = Retention(store, config.retention.delivered_days, clock=clock)

    def snapshot(self) -> dict[str, object]:
        """Per sink: state, backlog, age of the oldest undelivered record, required."""
        return {
            s.config.name: {
                "state": s.status.state.value,
                "backlog": s.status.backlog,
                "oldest_age_s": None
                if s.status.oldest_age_s is None
                else round(s.status.oldest_age_s, 3),
                "required": s.config.required,
                "error": s.status.error or None,
            }
            for s in self.schedulers
        }

    def wake(self) -> None:
        for scheduler in self.schedulers:
            scheduler.wake()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                for scheduler in self.schedulers:
                    tg.create_task(scheduler.run(), name=f"sink:{scheduler.config.name}")
                for reconciler in self.reconcilers:
                    name = f"reconcile:{reconciler.config.name}"
                    tg.create_task(reconciler.run(), name=name)
                tg.create_task(self.retention.run(), name="retention")
        finally:
            await self._close()

    async def _close(self) -> None:
        for scheduler in self.schedulers:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await scheduler.sink.close()
            except TimeoutError:
                log.warning("sink close timed out", extra={"sink": scheduler.config.name})
