"""Prometheus metrics of one daemon instance (own registry: instances never share state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from drivers.base import HealthState


class Metrics:
    """Every metric the daemon exports; no personal data in any label."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.captures = Counter(
            "midas_captures", "Captures committed to the store", ["device", "kind"], registry=r
        )
        self.refused = Counter(
            "midas_captures_refused", "Captures refused", ["device", "reason"], registry=r
        )
        self.commit_latency = Histogram(
            "midas_commit_latency_seconds",
            "Time of one group commit (transaction + fsync)",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.commit_batch = Histogram(
            "midas_commit_batch_records",
            "Records per group commit",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 512),
            registry=r,
        )
        self.queue_depth = Gauge(
            "midas_pipeline_queue_depth", "Captures waiting in the pipeline", registry=r
        )
        self.writer_depth = Gauge(
            "midas_store_queue_depth", "Records waiting for the store writer", registry=r
        )
        self.devices = Gauge("midas_devices", "Devices by health state", ["state"], registry=r)
        self.device_restarts = Counter(
            "midas_device_restarts", "Device reconnect attempts", ["device"], registry=r
        )
        self.device_errors = Counter(
            "midas_device_errors",
            "Bad input from devices (noise, checksum, protocol errors)",
            ["device", "code"],
            registry=r,
        )
        self.alarms = Gauge("midas_alarm_active", "Active alarms", ["code"], registry=r)
        self.store_bytes = Gauge(
            "midas_store_bytes", "Bytes used by the store", ["part"], registry=r
        )
        self.last_seq = Gauge("midas_store_last_seq", "Last committed sequence", registry=r)
        self.sse_clients = Gauge("midas_sse_clients", "Connected event-stream clients", registry=r)
        self.sink_backlog = Gauge(
            "midas_sink_backlog", "Records waiting for a sink", ["sink"], registry=r
        )
        self.sink_oldest_age = Gauge(
            "midas_sink_oldest_undelivered_age_seconds",
            "Age of the oldest record a sink has not confirmed",
            ["sink"],
            registry=r,
        )
        self.sink_delivered = Counter(
            "midas_sink_delivered", "Records a sink confirmed", ["sink"], registry=r
        )
        self.sink_rejected = Counter(
            "midas_sink_rejected", "Records parked as dead letters", ["sink"], registry=r
        )
        self.sink_failures = Counter(
            "midas_sink_failures", "Batches that failed for now (retried)", ["sink"], registry=r
        )
        self.sink_state = Gauge(
            "midas_sink_state", "Sink state (1 for the current one)", ["sink", "state"], registry=r
        )
        self.nas_reconcile = Counter(
            "midas_nas_reconcile",
            "Periodic NAS share checks by result (intact, repaired, lost, failed, skipped)",
            ["sink", "result"],
            registry=r,
        )
        self.nas_reconcile_requeued = Counter(
            "midas_nas_reconcile_requeued",
            "Records a share check found missing or damaged and sent again",
            ["sink"],
            registry=r,
        )
        self.nas_reconcile_lost = Gauge(
            "midas_nas_reconcile_lost_records",
            "Records purged here and missing or damaged on the share, at the last check",
            ["sink"],
            registry=r,
        )
        for state in HealthState:
            self.devices.labels(state=state.value).set(0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
