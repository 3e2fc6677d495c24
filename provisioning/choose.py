"""Which discovered devices the workstation uses: the technician's word, the flags, the config.

After discovery, in this order:

1. devices given with `--device NAME=PATH:DRIVER` (or `[devices] given` in the answers file)
   are used as said, found or not (an on-board RS-232 port, a device whose probe cannot tell);
2. a device of the config already there that does not answer now (the running daemon holds
   it, or it is silent) is kept with its configured driver: re-provisioning a workstation in
   service never drops a device, its udev rule or its device class;
3. a device that only opened on a match any serial device meets (`needs_answer`) is used only
   when the technician says it is a reader of that family; without questions it is left out,
   with the flag that forces it;
4. interactively, the technician confirms each device (a declined one is excluded).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from drivers.base import DriverError
from drivers.registry import Registry
from provisioning.discover import Discovery, Found, in_use
from provisioning.errors import ProvisioningError
from provisioning.settings import Settings
from provisioning.ui import Console

IN_USE = "in use by the running daemon"
SILENT = "configured; it does not answer now"


def parse_given(spec: str) -> tuple[str, str, str]:
    """`NAME=PATH:DRIVER` as (name, path, driver); ProvisioningError naming what is wrong."""
    name, sep, rest = spec.partition("=")
    path, colon, driver = rest.rpartition(":")
    if not sep or not colon or not name.strip() or not path.strip() or not driver.strip():
        raise ProvisioningError(f"--device {spec!r}: expected NAME=PATH:DRIVER")
    return name.strip(), path.strip(), driver.strip()


def _give(found: Discovery, settings: Settings, registry: Registry) -> None:
    for spec in settings.given:
        name, path, driver = parse_given(spec)
        try:
            registry.get(driver)
        except DriverError as exc:
            raise ProvisioningError(f"--device {spec!r}: {exc}") from None
        item = next((f for f in found.found if f.url == path), None)
        if item is None:
            item = Found("given", path, path)
            found.found.append(item)
        item.family, item.status, item.how, item.candidate = driver, "confirmed", "given", None
        if item.entry is None or driver not in item.entry.families:
            item.options = {}
        settings.names[path] = name
        if path in settings.exclude:
            settings.exclude.remove(path)


def _keep(found: Discovery, configured: Mapping[str, str], root: Path | None) -> None:
    for item in found.found:
        driver = configured.get(item.url)
        if item.status not in ("no answer", "unconfirmed") or driver is None:
            continue
        if item.entry is None or driver not in item.entry.families:
            continue
        where = str(root / item.url.lstrip("/")) if root and item.url.startswith("/") else item.url
        item.family, item.status, item.candidate = driver, "kept", None
        item.how = IN_USE if in_use(where) else SILENT


def _unconfirmed(found: Discovery, settings: Settings, console: Console) -> list[str]:
    notes = []
    for item in found.found:
        if item.status != "unconfirmed" or item.url in settings.exclude:
            continue
        what = item.entry.name if item.entry else "a serial device"
        question = (
            f"{item.url} ({what}) opens but says nothing of itself: "
            f"is it a reader read with {item.candidate}?"
        )
        if console.interactive and console.confirm(question, default=False):
            item.family, item.status, item.how = item.candidate, "confirmed", "technician"
            continue
        notes.append(
            f"{item.url} opens but nothing proves it is a reader (a modem opens too): left out; "
            f"if it is one: --device NAME={item.url}:{item.candidate}"
        )
    return notes


def choose(
    found: Discovery,
    settings: Settings,
    console: Console,
    registry: Registry,
    configured: Mapping[str, str],
) -> list[str]:
    """Settle which devices are used (module docstring); notes for the report."""
    _give(found, settings, registry)
    _keep(found, configured, settings.root)
    notes = _unconfirmed(found, settings, console)
    for item in found.confirmed:
        if item.url in settings.exclude or item.how in ("given", "technician"):
            continue
        if not console.confirm(f"use {item.url} ({item.family}) on this workstation?"):
            settings.exclude.append(item.url)
    kept = [f.url for f in found.found if f.status == "kept"]
    if kept:
        notes.append("kept from the config, not answering now: " + ", ".join(kept))
    return notes
