"""The workstation's config.toml from the settings and the confirmed devices.

The written config starts from the one already there (sections provisioning does not manage,
such as [alerts] or [retention], and devices it did not find, are kept), then sets the
workstation, the API address, every confirmed device by its stable path (a device already
configured at that path keeps its name and options) and the regional sinks. It is checked by
the function behind `midas-edge config check` (drivers, data dir, alert list key and fetch
sink; paths under --root staged) before anything is written; identical content is not
rewritten, and a differing old file is kept as `config.toml.<UTC time>.bak`.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from drivers.registry import Registry
from edge.config import Config, from_mapping
from edge.config_check import check_config
from edge.errors import EdgeError
from provisioning.changes import Applier
from provisioning.discover import Found
from provisioning.errors import ProvisioningError
from provisioning.settings import Settings
from provisioning.system import REGION_CA, SERVICE_GROUP, TLS_CERT, TLS_KEY
from provisioning.tomltext import dumps

HEADER = (
    "midas-edge workstation config, written by `midas-edge provision`.\n"
    "Edit it and check it with `midas-edge config check`; a new provisioning run keeps\n"
    "what it does not manage and backs the previous file up beside it."
)
CONFIG_MODE, CONFIG_DIR_MODE = 0o640, 0o750
_NAMES = {
    "mrz-rte": "passport-reader",
    "mrz-line": "passport-reader",
    "access-stx": "passport-reader",
    "barcode-serial": "barcode-scanner",
    "barcode-hidpos": "barcode-scanner",
    "camera": "camera",
}


def base_name(found: Found) -> str:
    """A device name from what it reads."""
    if found.family == "wedge":
        return "passport-reader" if found.options.get("kind") == "document" else "barcode-scanner"
    return _NAMES.get(found.family or "", found.family or "device")


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def _devices(existing: list[Any], found: list[Found], settings: Settings) -> list[Any]:
    out = copy.deepcopy(existing)
    by_url = {d.get("url"): d for d in out if isinstance(d, dict)}
    taken = {str(d.get("name")) for d in out if isinstance(d, dict)}
    for item in sorted(found, key=lambda f: f.url):
        if item.url in settings.exclude or item.family is None:
            continue
        device = by_url.get(item.url)
        if device is None:
            name = settings.names.get(item.url) or _unique(base_name(item), taken)
            device = {"name": name, "driver": item.family, "url": item.url}
            if item.options:
                device["options"] = dict(item.options)
            out.append(device)
        elif device.get("driver") != item.family:
            device["driver"] = item.family
            device.pop("options", None)
            if item.options:
                device["options"] = dict(item.options)
    return out


def _upsert(sinks: list[Any], sink: dict[str, Any]) -> None:
    for existing in sinks:
        if isinstance(existing, dict) and existing.get("name") == sink["name"]:
            existing.update(sink)
            return
    sinks.append(sink)


def desired(settings: Settings, found: list[Found], existing: dict[str, Any]) -> dict[str, Any]:
    """The config as data: the existing one with what provisioning manages set."""
    data = copy.deepcopy(existing)
    workstation = data.setdefault("workstation", {})
    workstation["id"] = settings.workstation
    workstation["data_dir"] = settings.data_dir
    data.setdefault("api", {})["listen"] = settings.listen
    data["devices"] = _devices(list(data.get("devices", [])), found, settings)
    sinks = list(data.get("sinks", []))
    if settings.region_url:
        sink: dict[str, Any] = {"name": settings.sink_name, "kind": "http"}
        sink["target"] = settings.region_url
        if urlsplit(settings.region_url).scheme == "https":
            sink.update(ca=str(REGION_CA), cert=str(TLS_CERT), key=str(TLS_KEY))
        _upsert(sinks, sink)
    if settings.nas_target:
        nas = {"name": settings.nas_name, "kind": "nas", "target": settings.nas_target}
        nas["sentinel"] = settings.nas_sentinel
        _upsert(sinks, nas)
    data["sinks"] = sinks
    if not data["devices"]:
        del data["devices"]
    if not data["sinks"]:
        del data["sinks"]
    return data


def validate(
    data: dict[str, Any],
    registry: Registry,
    source: str,
    *,
    where: Callable[[str], Path] = Path,
    data_dir: bool = False,
) -> Config:
    """The config `midas-edge config check` would accept (its very checks, `check_config`,
    with paths mapped by `where`); ProvisioningError otherwise."""
    try:
        config = from_mapping(data, source)
        check_config(config, registry, source, where=where, data_dir=data_dir)
    except EdgeError as exc:
        raise ProvisioningError(f"the config would not pass `config check`: {exc}") from None
    return config


def read_existing(path: Path) -> tuple[dict[str, Any], str | None]:
    """The config already there as data, or empty with a note when it is not usable TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"the existing config is not readable TOML and is replaced ({exc})"


def configure(
    settings: Settings, found: list[Found], registry: Registry, applier: Applier, stamp: str
) -> tuple[Config, list[str]]:
    """Write the config (when it differs); the validated config and notes."""
    target = PurePosixPath(settings.config_path)
    existing, note = read_existing(applier.path(target))
    data = desired(settings, found, existing)

    def where(path: str) -> Path:
        return applier.path(path) if path.startswith("/") else Path(path)

    # The data dir is checked once it exists (the install step creates it on a new system).
    has_data_dir = not applier.dry_run and where(settings.data_dir).is_dir()
    config = validate(data, registry, str(target), where=where, data_dir=has_data_dir)
    owner = ("root", SERVICE_GROUP)
    applier.directory(target.parent, mode=CONFIG_DIR_MODE, owner=owner)
    text = dumps(data, HEADER).encode()
    applier.write(target, text, mode=CONFIG_MODE, owner=owner, backup=f"{stamp}.bak")
    return config, [note] if note else []
