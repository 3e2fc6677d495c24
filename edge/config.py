"""The TOML configuration contract, validated in full before anything starts."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from edge.alerts.config import AlertsConfig
from edge.errors import ConfigError
from edge.portrait.config import PortraitConfig

DEFAULT_PATH = Path("/etc/midas-edge/config.toml")
ENV_VAR = "MIDAS_EDGE_CONFIG"

_WORKSTATION_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
# A NAS share checked daily: damage found weeks before retention purges what it lost (README).
RECONCILE_EVERY_S = 86400.0
# Device URL schemes the daemon can address; a bare absolute path is a device node or pty.
DEVICE_SCHEMES = frozenset({"socket", "sim", "file", "usb", "evdev", "v4l2", "pcsc"})


def parse_size(value: int | str) -> int:
    """Bytes from an integer or a string such as "4GiB" or "500 MB"."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError("expected a size of zero or more bytes")
        return value
    match = _SIZE.match(value)
    if not match:
        raise ValueError('expected a size such as 4GiB, 500MB or 1048576, got "' + value + '"')
    unit = (match.group(2) or "B").lower()
    return int(float(match.group(1)) * _UNITS[unit])


def _bad(key: str, message: str) -> ValueError:
    """A validation error that names its key (msgspec only knows the enclosing table)."""
    return ValueError(f"<{key}> {message}")


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every config table: an unknown key is an error, never ignored."""


class WorkstationConfig(_Section):
    id: str
    data_dir: str = "/var/lib/midas-edge"

    def __post_init__(self) -> None:
        if not _WORKSTATION_ID.match(self.id):
            raise _bad(
                "id",
                "expected a workstation id of lower-case letters, digits, '.', '_' or '-' "
                "(at most 63 characters, starting with a letter or digit)",
            )
        if not self.data_dir or not Path(self.data_dir).is_absolute():
            raise _bad("data_dir", "expected data_dir to be an absolute path")


class ApiConfig(_Section):
    listen: str = "127.0.0.1:8470"

    def __post_init__(self) -> None:
        try:
            host, port = split_listen(self.listen)
        except ValueError as exc:
            raise _bad("listen", str(exc)) from None
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise _bad("listen", "expected a loopback address: the local API never listens outside")
        if not 0 <= port <= 65535:
            raise _bad("listen", "expected a port between 0 and 65535")


class DeviceConfig(_Section):
    name: str
    driver: str
    url: str
    enabled: bool = True
    options: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise _bad("name", "expected a device name of letters, digits, '.', '_' or '-'")
        try:
            check_device_url(self.url)
        except ValueError as exc:
            raise _bad("url", str(exc)) from None


class SinkConfig(_Section):
    name: str
    kind: Literal["nas", "http"]
    target: str
    required: bool = True
    # Batching: a batch closes at this many records or (roughly) this many bytes.
    batch_records: int = 500
    batch_bytes: int | str = "4MiB"
    # Seconds one network or share operation may take before the sink counts it as failed.
    timeout: float = 30.0
    # Seconds between backlog checks when no new record woke the sink.
    interval: float = 5.0
    # http: the CA bundle the server's certificate must chain to (pinned; required for
    # https), and the workstation's client certificate and key for mutual TLS.
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    # nas: a file the share's administrator placed at its root; no file, no writes.
    sentinel: str = ".midas-share"
    # nas: seconds between the daemon's checks of the share (0: never; default RECONCILE_EVERY_S).
    reconcile_every: float | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise _bad("name", "expected a sink name of letters, digits, '.', '_' or '-'")
        if self.kind == "nas" and not Path(self.target).is_absolute():
            raise _bad("target", "expected the NAS target to be an absolute mount point path")
        if self.kind == "http":
            parts = urlsplit(self.target)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _bad("target", "expected an http:// or https:// URL for an http sink")
            if parts.scheme == "https" and self.ca is None:
                raise _bad("ca", "expected a CA bundle to pin for an https sink")
            if (self.cert is None) != (self.key is None):
                raise _bad("cert", "expected cert and key together (mutual TLS)")
        for key in ("ca", "cert", "key"):
            value = getattr(self, key)
            if value is not None and not Path(value).is_absolute():
                raise _bad(key, f"expected an absolute path for {key}")
        if not 1 <= self.batch_records <= 100_000:
            raise _bad("batch_records", "expected batch_records between 1 and 100000")
        try:
            self.batch_bytes = parse_size(self.batch_bytes)
        except ValueError as exc:
            raise _bad("batch_bytes", str(exc)) from None
        for key in ("timeout", "interval"):
            if getattr(self, key) <= 0:
                raise _bad(key, f"expected {key} above zero (seconds)")
        if "/" in self.sentinel or not self.sentinel:
            raise _bad("sentinel", "expected a file name at the share's root")
        every = self.reconcile_every
        if self.kind == "http" and every is not None:
            raise _bad("reconcile_every", "expected reconcile_every only on a nas sink")
        if self.kind == "nas" and every is None:
            self.reconcile_every = every = RECONCILE_EVERY_S
        if every is not None and not (math.isfinite(every) and every >= 0):
            raise _bad("reconcile_every", "expected reconcile_every of 0 (never) or more seconds")

    @property
    def batch_bytes_int(self) -> int:
        return parse_size(self.batch_bytes)


class ForwardingConfig(_Section):
    """How sinks retry: capped exponential backoff with full jitter, per sink."""

    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    # A record that failed this many times is parked as a dead letter (0: retry forever).
    max_attempts: int = 0
    # Alarm when a required sink's oldest waiting record is this many seconds old (0: never).
    # Links at remote posts drop for hours; six hours without delivery is worth a technician.
    alarm_after: float = 21600.0

    def __post_init__(self) -> None:
        if not 0 < self.backoff_base <= self.backoff_cap:
            raise _bad("backoff_base", "expected 0 < backoff_base <= backoff_cap")
        if self.max_attempts < 0:
            raise _bad("max_attempts", "expected max_attempts to be zero or more")
        if self.alarm_after < 0:
            raise _bad("alarm_after", "expected alarm_after to be zero or more")


class RetentionConfig(_Section):
    # Days personal data stays on the workstation after every required sink confirmed it.
    delivered_days: float = 30.0

    def __post_init__(self) -> None:
        if self.delivered_days < 0:
            raise _bad("delivered_days", "expected delivered_days to be zero or more")


class StorageConfig(_Section):
    quota: int | str = "8GiB"
    min_free: int | str = "512MiB"
    on_full: Literal["refuse"] = "refuse"

    def __post_init__(self) -> None:
        for key in ("quota", "min_free"):
            try:
                setattr(self, key, parse_size(getattr(self, key)))
            except ValueError as exc:
                raise _bad(key, str(exc)) from None

    @property
    def quota_bytes(self) -> int:
        return parse_size(self.quota)

    @property
    def min_free_bytes(self) -> int:
        return parse_size(self.min_free)


class PipelineConfig(_Section):
    queue_size: int = 1024

    def __post_init__(self) -> None:
        if not 1 <= self.queue_size <= 1_000_000:
            raise _bad("queue_size", "expected queue_size between 1 and 1000000")


class SupervisionConfig(_Section):
    """How failing devices are retried: capped exponential backoff and a restart-intensity limit."""

    backoff_base: float = 0.2
    backoff_cap: float = 30.0
    restart_limit: int = 5
    restart_window: float = 60.0
    # Connected this long without a failure: restarts are forgotten and the alarm cleared.
    stable_after: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.backoff_base <= self.backoff_cap:
            raise _bad("backoff_base", "expected 0 < backoff_base <= backoff_cap")
        if self.restart_limit < 1 or self.restart_window <= 0:
            raise _bad("restart_limit", "expected restart_limit >= 1 and restart_window > 0")


class DocumentsConfig(_Section):
    # Directory of visible-digital-seal signer certificates (DER/PEM, optional signers.toml).
    certs_dir: str | None = None

    def __post_init__(self) -> None:
        if self.certs_dir is not None and not Path(self.certs_dir).is_absolute():
            raise _bad("certs_dir", "expected an absolute directory path")


class LogConfig(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(_Section):
    workstation: WorkstationConfig
    api: ApiConfig = msgspec.field(default_factory=ApiConfig)
    devices: list[DeviceConfig] = msgspec.field(default_factory=list)
    sinks: list[SinkConfig] = msgspec.field(default_factory=list)
    forwarding: ForwardingConfig = msgspec.field(default_factory=ForwardingConfig)
    retention: RetentionConfig = msgspec.field(default_factory=RetentionConfig)
    storage: StorageConfig = msgspec.field(default_factory=StorageConfig)
    pipeline: PipelineConfig = msgspec.field(default_factory=PipelineConfig)
    supervision: SupervisionConfig = msgspec.field(default_factory=SupervisionConfig)
    documents: DocumentsConfig = msgspec.field(default_factory=DocumentsConfig)
    alerts: AlertsConfig | None = None
    portrait: PortraitConfig = msgspec.field(default_factory=PortraitConfig)
    log: LogConfig = msgspec.field(default_factory=LogConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.workstation.data_dir)


def _check_unique(names: list[str], table: str, what: str, source: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ConfigError(source, f"{table}[{index}].name", f"expected a unique {what} name")
        seen.add(name)


def split_listen(listen: str) -> tuple[str, int]:
    """(host, port) from "host:port" or "[v6]:port"."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError('expected "host:port", e.g. "127.0.0.1:8470"')
    return host.strip("[]"), int(port)


def check_device_url(url: str) -> None:
    """Raise ValueError unless `url` is a device path or a known device URL scheme."""
    if url.startswith("/"):
        return
    parts = urlsplit(url)
    if parts.scheme not in DEVICE_SCHEMES:
        raise ValueError(
            "expected a device path such as /dev/ttyACM0 or a URL with one of the schemes "
            + ", ".join(sorted(DEVICE_SCHEMES))
        )
    if parts.scheme == "socket" and (not parts.hostname or parts.port is None):
        raise ValueError("expected socket://host:port")
    if parts.scheme != "socket" and not (parts.netloc or parts.path):
        raise ValueError(f"expected something after {parts.scheme}://")


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _key_from_msgspec(error: msgspec.ValidationError) -> tuple[str, str]:
    match = _AT.match(str(error))
    assert match is not None  # the pattern matches any string
    message, path = match.group("msg"), (match.group("path") or "").lstrip(".")
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    if unknown:
        key = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        return key, "unknown key (not part of the configuration contract)"
    missing = re.match(r"Object missing required field `([^`]+)`", message)
    if missing:
        key = f"{path}.{missing.group(1)}" if path else missing.group(1)
        return key, "required value missing"
    keyed = re.match(r"<(\w+)> (.*)", message, re.DOTALL)
    if keyed:
        return (f"{path}.{keyed.group(1)}" if path else keyed.group(1)), keyed.group(2)
    enum = re.match(r"Invalid enum value (.*)", message)
    if enum:
        return path, f"invalid value {enum.group(1)}"
    return path, message[0].lower() + message[1:] if message else "invalid value"


def from_mapping(data: dict[str, Any], source: str = "<config>") -> Config:
    """Validate an already-parsed TOML document into a Config."""
    try:
        config = msgspec.convert(data, Config, strict=True)
    except msgspec.ValidationError as exc:
        key, expected = _key_from_msgspec(exc)
        raise ConfigError(source, key, expected) from None
    _check_unique([d.name for d in config.devices], "devices", "device", source)
    _check_unique([s.name for s in config.sinks], "sinks", "sink", source)
    camera = config.portrait.camera
    if camera and camera not in {d.name for d in config.devices}:
        raise ConfigError(source, "portrait.camera", f"no [[devices]] entry is named {camera!r}")
    return config


def load(path: Path) -> Config:
    """Read and validate the config file; every failure is one ConfigError naming file and key."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found") from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, "", "expected UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML ({exc})") from None
    return from_mapping(data, source)


def resolve_path(explicit: str | None) -> Path:
    """The config path: --config, else $MIDAS_EDGE_CONFIG, else the default."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_PATH


def check_data_dir(config: Config, source: str) -> None:
    """Create the data dir if needed (0700) and prove it is writable, or raise ConfigError."""
    path = config.data_dir
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ConfigError(
            source, "workstation.data_dir", f"expected a writable directory ({exc.strerror})"
        ) from None
