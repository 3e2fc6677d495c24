"""The `[alerts]` section of the config (mounted as `Config.alerts`; absent: no checks)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.alerts.errors import AlertListError
from edge.alerts.keys import is_key_path, load_public_key, parse_public_key
from edge.errors import ConfigError


def _bad(key: str, message: str) -> ValueError:
    """A validation error naming its key, in the form `edge.config` reports with the file."""
    return ValueError(f"<{key}> {message}")


class AlertsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # The region's Ed25519 public key: a PEM file (absolute path), PEM text, or the base64 of
    # its 32 raw bytes (`midas-edge alerts keygen` prints it).
    public_key: str
    # Where technicians drop signed list files (`midas-edge alerts import` puts them there);
    # default <data_dir>/alert-drop.
    drop_dir: str | None = None
    drop_interval: float = 10.0
    # An http sink whose regional server serves the lists (its URL and TLS settings are used).
    fetch_sink: str | None = None
    fetch_interval: float = 300.0
    # Records captured this many days back under an older (or no) list are re-checked when a
    # newer list arrives; 0 turns re-checks off.
    recheck_days: float = 7.0
    # Required: no list in force, or a stale one, is an alarm (the health turns degraded).
    required: bool = False

    def __post_init__(self) -> None:
        if not is_key_path(self.public_key):
            try:
                parse_public_key(self.public_key)
            except AlertListError as exc:
                raise _bad("public_key", str(exc)) from None
        if self.drop_dir is not None and not Path(self.drop_dir).is_absolute():
            raise _bad("drop_dir", "expected an absolute directory path")
        for key in ("drop_interval", "fetch_interval"):
            if getattr(self, key) <= 0:
                raise _bad(key, f"expected {key} above zero (seconds)")
        if self.recheck_days < 0:
            raise _bad("recheck_days", "expected recheck_days to be zero or more")


def checked_key(alerts: AlertsConfig, sinks: Mapping[str, str], source: str) -> Ed25519PublicKey:
    """The region key, once the section agrees with the sinks (name -> kind); else ConfigError.

    Reads the key file: `config check` and the daemon's start call it, the config load not.
    """
    problem = fetch_sink_problem(alerts, sinks)
    if problem is not None:
        raise ConfigError(source, "alerts.fetch_sink", problem)
    try:
        return load_public_key(alerts.public_key)
    except AlertListError as exc:
        raise ConfigError(source, "alerts.public_key", str(exc)) from None


def fetch_sink_problem(alerts: AlertsConfig, sinks: Mapping[str, str]) -> str | None:
    """Why `fetch_sink` cannot be used with the configured sinks (name -> kind), or None."""
    if alerts.fetch_sink is None:
        return None
    kind = sinks.get(alerts.fetch_sink)
    if kind is None:
        return f"expected the name of a configured sink, not {alerts.fetch_sink!r}"
    if kind != "http":
        return "expected an http sink (lists are fetched from a regional server)"
    return None
