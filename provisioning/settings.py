"""What `midas-edge provision` is told: flags, an answers file, the technician's answers.

Flags win over the answers file, which wins over the questions asked interactively, whose
defaults are what the other two gave (or the built-in defaults). The answers file (TOML):

    workstation = "bz-pgia-01"
    data_dir = "/var/lib/midas-edge"
    [region]                       # the regional server: HTTP sink and enrollment
    url = "https://region.example:8480/"
    token = "..."                  # from `midas-edge receiver enroll-token`
    ca_fingerprint = "sha256:..."
    [nas]
    target = "/mnt/regional-nas"
    [devices]
    names = { "/dev/serial/by-id/usb-..." = "passport-reader" }
    exclude = ["/dev/v4l/by-id/usb-...-video-index0"]
    given = ["rs232-reader=/dev/ttyS0:mrz-rte"]   # NAME=PATH:DRIVER, used as said

The enrollment token may also come from `--enroll-token-file` or `MIDAS_EDGE_ENROLL_TOKEN`,
so that it shows in no process list.
"""

from __future__ import annotations

import re
import socket
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import msgspec

from provisioning.errors import ProvisioningError
from provisioning.system import CONFIG_PATH, DEFAULT_EXECUTABLE, STATE_DIR
from provisioning.ui import Console

_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")
SELFTEST_MODES = ("always", "changed", "never")


class _Region(msgspec.Struct, forbid_unknown_fields=True):
    url: str | None = None
    token: str | None = None
    ca_fingerprint: str | None = None
    sink: str | None = None


class _Nas(msgspec.Struct, forbid_unknown_fields=True):
    target: str | None = None
    sentinel: str | None = None
    name: str | None = None
    dependency: str | None = None


class _Devices(msgspec.Struct, forbid_unknown_fields=True):
    names: dict[str, str] = msgspec.field(default_factory=dict)
    exclude: list[str] = msgspec.field(default_factory=list)
    given: list[str] = msgspec.field(default_factory=list)


class _Answers(msgspec.Struct, forbid_unknown_fields=True):
    workstation: str | None = None
    data_dir: str | None = None
    listen: str | None = None
    executable: str | None = None
    region: _Region = msgspec.field(default_factory=_Region)
    nas: _Nas = msgspec.field(default_factory=_Nas)
    devices: _Devices = msgspec.field(default_factory=_Devices)
    ip_allow: list[str] = msgspec.field(default_factory=list)


@dataclass
class Settings:
    """Everything a provisioning run needs to know; None where nothing was said."""

    workstation: str | None = None
    data_dir: str = str(STATE_DIR)
    config_path: str = str(CONFIG_PATH)
    listen: str = "127.0.0.1:8470"
    executable: str = str(DEFAULT_EXECUTABLE)
    region_url: str | None = None
    sink_name: str = "regional-server"
    enroll_token: str | None = None
    ca_fingerprint: str | None = None
    nas_target: str | None = None
    nas_name: str = "regional-nas"
    nas_sentinel: str = ".midas-share"
    nas_dependency: str = "requires"
    names: dict[str, str] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)  # NAME=PATH:DRIVER
    ip_allow: list[str] = field(default_factory=list)
    root: Path | None = None
    dry_run: bool = False
    interactive: bool = False
    selftest: str = "changed"  # always | changed | never


def read_token(path: Path) -> str:
    """The enrollment token from a file (its first line); ProvisioningError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProvisioningError(f"{path}: the enrollment token cannot be read ({exc})") from None
    token = (text.strip().splitlines() or [""])[0].strip()
    if not token:
        raise ProvisioningError(f"{path}: no enrollment token in it")
    return token


def read_answers(path: Path) -> dict[str, Any]:
    """The answers file as Settings fields; ProvisioningError naming the file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        answers = msgspec.convert(data, _Answers, strict=True)
    except OSError as exc:
        raise ProvisioningError(f"{path}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProvisioningError(f"{path}: not valid TOML ({exc})") from None
    except msgspec.ValidationError as exc:
        raise ProvisioningError(f"{path}: {exc}") from None
    values: dict[str, Any] = {
        "workstation": answers.workstation,
        "data_dir": answers.data_dir,
        "listen": answers.listen,
        "executable": answers.executable,
        "region_url": answers.region.url,
        "enroll_token": answers.region.token,
        "ca_fingerprint": answers.region.ca_fingerprint,
        "sink_name": answers.region.sink,
        "nas_target": answers.nas.target,
        "nas_sentinel": answers.nas.sentinel,
        "nas_name": answers.nas.name,
        "nas_dependency": answers.nas.dependency,
        "names": answers.devices.names or None,
        "exclude": answers.devices.exclude or None,
        "given": answers.devices.given or None,
        "ip_allow": answers.ip_allow or None,
    }
    return {k: v for k, v in values.items() if v is not None}


def build(flags: dict[str, Any], answers: dict[str, Any]) -> Settings:
    """Settings from the answers file overlaid with the flags that were given."""
    known = {f.name for f in fields(Settings)}
    merged = {**answers, **{k: v for k, v in flags.items() if v is not None}}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise ProvisioningError(f"unknown setting {unknown[0]!r}")
    return Settings(**merged)


def default_workstation() -> str:
    """This machine's host name as a workstation id, where it is one."""
    name = socket.gethostname().split(".")[0].lower()
    return re.sub(r"[^a-z0-9._-]", "-", name).strip("-._") or "workstation"


def ask_missing(settings: Settings, console: Console) -> None:
    """Interactive questions, the known values as defaults; then the checks every run needs."""
    s = settings
    s.workstation = console.ask("workstation id", s.workstation or default_workstation())
    s.data_dir = console.ask("data directory", s.data_dir)
    s.region_url = console.ask("regional server URL (empty: none)", s.region_url or "") or None
    if s.region_url:
        s.enroll_token = console.ask("enrollment token", s.enroll_token or "", secret=True) or None
        s.ca_fingerprint = (
            console.ask("region CA fingerprint (sha256:...)", s.ca_fingerprint or "") or None
        )
    s.nas_target = console.ask("NAS mount point (empty: none)", s.nas_target or "") or None
    check(s)


def check(settings: Settings) -> None:
    """Refuse settings no config could be written from (the config check catches the rest)."""
    if not settings.workstation:
        raise ProvisioningError("a workstation id is needed: --workstation ID")
    if settings.ca_fingerprint is not None:
        settings.ca_fingerprint = settings.ca_fingerprint.strip().lower()
        if not _FINGERPRINT.match(settings.ca_fingerprint):
            raise ProvisioningError("ca_fingerprint: expected sha256: and 64 hex digits")
    if settings.selftest not in SELFTEST_MODES:
        raise ProvisioningError("self-test: expected one of " + ", ".join(SELFTEST_MODES))
    if settings.nas_dependency not in ("requires", "wants"):
        raise ProvisioningError("nas dependency: expected 'requires' or 'wants'")
