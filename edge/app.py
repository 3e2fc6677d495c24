"""Composition root: wires config, store, pipeline, devices, API and systemd notify together."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from pathlib import Path

import msgspec

from agent.chain import ChainError, Sealer, load_or_create_key
from agent.forwarder import Forwarder
from agent.http_sink import tls_context
from agent.nas_reconciler import ReconcileResult, ReconcileRun
from agent.sealing import SealingTask
from agent.sink_status import SinkState, SinkStatus
from drivers.base import CaptureKind, Driver
from drivers.registry import Registry, default_registry
from edge import __version__
from edge.alarms import Alarm, Alarms
from edge.alerts.late import CODE_PREFIX
from edge.alerts.service import AlertService, open_service
from edge.api import token
from edge.api.context import ApiContext
from edge.api.server import ApiServer
from edge.config import Config, DeviceConfig
from edge.devices import DeviceSupervisor, resolve_drivers
from edge.documents.certstore import CertificateStore
from edge.errors import EdgeError
from edge.events import Event, Hub
from edge.hotplug import Hotplug
from edge.metrics import Metrics
from edge.normalize import Normalizer, Parser, document_parsers
from edge.notify import Notifier, stuck_probe, watchdog
from edge.pipeline import Pipeline
from edge.portrait.daemon import DocumentTrigger, build_portraits
from edge.portrait.record import portrait_parser
from edge.portrait.session import Portraits
from edge.share_loss import ShareLosses
from edge.store import Store

log = logging.getLogger("midas_edge.app")

SHUTDOWN_TIMEOUT_S = 10.0
# A writer or pipeline busy on one batch longer than this is stuck: withhold the watchdog.
STUCK_AFTER_S = 10.0


class App:
    """The daemon. `run()` returns after `request_stop()`, once everything in flight is durable."""

    def __init__(
        self,
        config: Config,
        *,
        source: str = "<config>",
        registry: Registry = default_registry,
        notifier: Notifier | None = None,
        parsers: Mapping[CaptureKind, Parser] | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.registry = registry
        self.notifier = notifier or Notifier()
        self.hub = Hub()
        self.metrics = Metrics()
        self.alarms = Alarms()
        self.alarms.add_listener(self._alarm_changed)
        self.store = Store(
            config.data_dir,
            quota=config.storage.quota_bytes,
            min_free=config.storage.min_free_bytes,
            sinks=[(s.name, s.required) for s in config.sinks],
            queue_size=config.pipeline.queue_size,
        )
        self._parsers = dict(parsers) if parsers is not None else None
        self.normalizer = Normalizer(config.workstation.id, {})
        self.supervisors: list[DeviceSupervisor] = []
        self.sealing: SealingTask | None = None
        self.forwarder: Forwarder | None = None
        self.alerts: AlertService | None = None
        self.portraits: Portraits | None = None
        self._trigger: DocumentTrigger | None = None
        self._sink_published: dict[str, tuple[SinkState, int, str]] = {}
        self.share_losses = ShareLosses(config.data_dir, self.alarms)
        self.hotplug = Hotplug()
        self.pipeline: Pipeline | None = None
        self.api_url = ""
        self.token = ""
        self.ready = asyncio.Event()
        self.started_at = time.monotonic()
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def _alarm_changed(self, alarm: Alarm) -> None:
        # Late alert hits are one alarm per amendment: counted under one label, so the
        # metric's series stay bounded by the config (devices, sinks), never by the traffic.
        code = alarm.code
        if code.startswith(CODE_PREFIX):
            code = CODE_PREFIX.rstrip(":")
            active = sum(1 for a in self.alarms.active() if a.code.startswith(CODE_PREFIX))
            self.metrics.alarms.labels(code=code).set(active)
        else:
            self.metrics.alarms.labels(code=code).set(1 if alarm.active else 0)
        self.hub.publish(Event("alarm", msgspec.json.encode(alarm)))

    def _space_changed(self, reason: str | None) -> None:
        if reason is None:
            self.alarms.clear("storage_full")
        else:
            self.alarms.raise_("storage_full", f"captures are being refused: {reason}")

    def device_snapshots(self) -> list[dict[str, object]]:
        return [s.snapshot() for s in self.supervisors]

    async def run(self) -> None:
        drivers = resolve_drivers(self.config, self.registry, self.source)
        if self._parsers is None:
            certs_dir = self.config.documents.certs_dir
            certs = CertificateStore.from_dir(Path(certs_dir)) if certs_dir else None
            self._parsers = document_parsers(certs)
        self._parsers.setdefault(
            CaptureKind.PORTRAIT, portrait_parser(self.config.portrait.min_score)
        )
        self.normalizer.parsers = self._parsers
        async with self.store:
            if self.store.quarantined is not None:
                self.alarms.raise_(
                    "store_quarantined",
                    f"the record database failed its integrity check and was moved aside as "
                    f"{self.store.quarantined.name}; a new one was started",
                )
            self.store.on_space(self._space_changed)
            self.token = token.load_or_create(self.config.data_dir)
            try:
                key = load_or_create_key(self.config.data_dir)
            except ChainError as exc:
                raise EdgeError(f"the workstation key cannot be used: {exc}") from exc
            sealer = Sealer(self.config.workstation.id, key)
            self.sealing = SealingTask(self.store, sealer)
            self.forwarder = Forwarder(
                self.config, self.store, sealer.key_id, self, reconciled=self
            )
            # Newly sealed records are sendable: wake the sinks rather than have them poll.
            self.sealing.on_sealed(lambda _seq: self._forwarder().wake())
            self.alerts = await open_service(
                self.config,
                self.source,
                store=self.store,
                hub=self.hub,
                alarms=self.alarms,
                registry=self.metrics.registry,
                tls=tls_context,
            )
            self.pipeline = Pipeline(
                self.store,
                self.normalizer,
                self.hub,
                self.metrics,
                self.config.pipeline.queue_size,
                checker=self.alerts.checker if self.alerts else None,
            )
            self.supervisors = [
                self._supervisor(device, drivers[device.name])
                for device in self.config.devices
                if device.enabled
            ]
            self.portraits = build_portraits(
                self.config, self.supervisors, self.hub, self.pipeline.submit
            )
            if self.portraits is not None and self.config.portrait.on_document:
                self._trigger = DocumentTrigger(self.portraits)
                self.store.on_commit(self._trigger)
            api = ApiServer(
                ApiContext(
                    self.config.workstation.id,
                    self.store,
                    self.hub,
                    self.alarms,
                    self.metrics,
                    self.device_snapshots,
                    self.token,
                    self.sink_snapshots,
                    alerts=self.alerts.status if self.alerts else None,
                    portraits=self.portraits,
                ),
                self.config.api.listen,
            )
            try:
                self.api_url = await api.start()
            except OSError as exc:
                raise EdgeError(
                    f"the local API cannot listen on {self.config.api.listen} ({exc.strerror})"
                ) from exc
            self.hotplug.start()
            try:
                await self._supervise(self.pipeline)
            finally:
                self.hotplug.stop()
                self.hub.close()
                await api.stop()
                self.notifier.close()

    def _supervisor(self, device: DeviceConfig, cls: type[Driver]) -> DeviceSupervisor:
        return DeviceSupervisor(
            device,
            lambda: cls(device.url, device.options),
            self._pipeline(),
            self.hub,
            self.alarms,
            self.metrics,
            self.config.supervision,
            self.hotplug,
        )

    def sink_snapshots(self) -> dict[str, object]:
        return self.forwarder.snapshot() if self.forwarder is not None else {}

    def sink_counted(self, sink: str, delivered: int, rejected: int, failed: int) -> None:
        self.metrics.sink_delivered.labels(sink=sink).inc(delivered)
        self.metrics.sink_rejected.labels(sink=sink).inc(rejected)
        self.metrics.sink_failures.labels(sink=sink).inc(failed)

    def sink_changed(self, status: SinkStatus) -> None:
        self.metrics.sink_backlog.labels(sink=status.sink).set(status.backlog)
        self.metrics.sink_oldest_age.labels(sink=status.sink).set(status.oldest_age_s or 0.0)
        for state in SinkState:
            self.metrics.sink_state.labels(sink=status.sink, state=state.value).set(
                1 if state is status.state else 0
            )
        self._sink_alarm(status)
        # Events only on a change of state, backlog or error, not on every refresh of the age.
        key = (status.state, status.backlog, status.error)
        if self._sink_published.get(status.sink) != key:
            self._sink_published[status.sink] = key
            self.hub.publish(Event("sink", msgspec.json.encode(status)))

    def _sink_alarm(self, status: SinkStatus) -> None:
        """Alarm while a required sink's oldest waiting record is `forwarding.alarm_after` s old."""
        limit = self.config.forwarding.alarm_after
        required = any(s.name == status.sink and s.required for s in self.config.sinks)
        code = f"sink_behind:{status.sink}"
        age = status.oldest_age_s or 0.0
        if limit > 0 and required and age >= limit:
            self.alarms.raise_(
                code,
                f"sink {status.sink}: its oldest waiting record is {age / 3600:.1f} h old; "
                f"{status.backlog} records wait on this workstation ({status.state.value})",
            )
        elif self.alarms.is_active(code):
            self.alarms.clear(code)

    def sink_reconciled(self, run: ReconcileRun) -> None:
        """A periodic NAS share check: metrics, a `reconcile` event, the `share_lost` alarm."""
        self.metrics.nas_reconcile.labels(sink=run.sink, result=run.result.value).inc()
        if run.result is ReconcileResult.SKIPPED:
            return  # the sink's own state and events already say why
        self.hub.publish(Event("reconcile", msgspec.json.encode(run.as_json())))
        report = run.report
        if report is None:
            return
        self.metrics.nas_reconcile_requeued.labels(sink=run.sink).inc(report.requeued or 0)
        self.metrics.nas_reconcile_lost.labels(sink=run.sink).set(report.lost.count)
        self.share_losses.found(run.sink, report.lost.count, report.lost.text())

    def _forwarder(self) -> Forwarder:
        if self.forwarder is None:
            raise EdgeError("the forwarder is not set up")
        return self.forwarder

    def _sealing(self) -> SealingTask:
        if self.sealing is None:
            raise EdgeError("the sealing task is not set up")
        return self.sealing

    async def _alerts_run(self) -> None:
        if self.alerts is not None:
            await self.alerts.run()

    def _pipeline(self) -> Pipeline:
        if self.pipeline is None:
            raise EdgeError("the pipeline is not running")
        return self.pipeline

    async def _stop_portraits(self) -> None:
        """A capture still running when the daemon stops is abandoned (nothing was stored)."""
        if self._trigger is not None:
            await self._trigger.close()
        if self.portraits is not None:
            await self.portraits.close()

    async def _supervise(self, pipeline: Pipeline) -> None:
        async with asyncio.TaskGroup() as tg:
            writer = tg.create_task(self.store.run_writer(), name="store-writer")
            worker = tg.create_task(pipeline.run(), name="pipeline")
            sealing = tg.create_task(self._sealing().run(), name="sealing")
            forwarding = tg.create_task(self._forwarder().run(), name="forwarder")
            alerting = tg.create_task(self._alerts_run(), name="alert-lists")
            devices = [
                tg.create_task(s.run(), name=f"device:{s.config.name}") for s in self.supervisors
            ]
            probes = {
                "store writer": stuck_probe(lambda: self.store.writer.busy_since, STUCK_AFTER_S),
                "pipeline": stuck_probe(lambda: pipeline.busy_since, STUCK_AFTER_S),
                "device supervisors": lambda: _ended(devices),
            }
            dog = tg.create_task(watchdog(self.notifier, probes), name="watchdog")
            self.notifier.send("READY=1", f"STATUS=ready, {len(devices)} devices")
            self.ready.set()
            log.info(
                "ready",
                extra={
                    "api": self.api_url,
                    "version": __version__,
                    "workstation": self.config.workstation.id,
                    "devices": len(devices),
                    "start_s": round(time.monotonic() - self.started_at, 3),
                },
            )
            await self._stop.wait()
            log.info("stopping")
            self.notifier.send("STOPPING=1")
            try:
                async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                    await self._stop_portraits()
                    for task in devices:
                        task.cancel()
                    if devices:
                        await asyncio.wait(devices)
                    await pipeline.close()
                    await worker
                    sealing.cancel()
                    # Outcomes already queued for the writer are still applied, whole.
                    forwarding.cancel()
                    alerting.cancel()
                    await asyncio.gather(sealing, forwarding, alerting, return_exceptions=True)
                    await self.share_losses.flush()
                    await self.store.stop_writer()
                    await writer
            except TimeoutError:
                log.error("shutdown timed out; stopping what is left")
                raise EdgeError("shutdown did not finish in time") from None
            finally:
                dog.cancel()
        log.info("stopped", extra={"last_seq": self.store.writer.last_seq})


def _ended(tasks: list[asyncio.Task[None]]) -> str | None:
    """Why the device supervisors are not all running, or None when they are."""
    ended = [t.get_name() for t in tasks if t.done()]
    return f"ended: {', '.join(ended)}" if ended else None
