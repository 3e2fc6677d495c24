"""Prometheus metrics of the alert lists, in the daemon's registry (no personal data in labels)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlertMetrics:
    """Checks by verdict, hits by category, the list in force, refusals and re-checks."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.checks = Counter(
            "midas_alert_checks",
            "Records checked against the alert list, by verdict",
            ["verdict", "stale"],
            registry=r,
        )
        self.hits = Counter(
            "midas_alert_hits",
            "Alert-list hits, by category; late ones were found by a re-check",
            ["category", "late"],
            registry=r,
        )
        self.version = Gauge(
            "midas_alert_list_version", "Version of the alert list in force (0: none)", registry=r
        )
        self.entries = Gauge(
            "midas_alert_list_entries", "Entries of the alert list in force", registry=r
        )
        self.expires = Gauge(
            "midas_alert_list_expiry_timestamp_seconds",
            "When the alert list in force expires (Unix time)",
            registry=r,
        )
        self.stale = Gauge(
            "midas_alert_list_stale",
            "1 while the alert list in force is past its expiry",
            registry=r,
        )
        self.refused = Counter(
            "midas_alert_lists_refused", "Alert lists refused, by reason", ["reason"], registry=r
        )
        self.rechecked = Counter(
            "midas_alert_rechecked", "Stored records re-checked after a newer list", registry=r
        )
