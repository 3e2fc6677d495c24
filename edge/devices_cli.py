"""`midas-edge devices`: the configured devices with their live state, and the known drivers."""

from __future__ import annotations

import asyncio
from typing import Any, TextIO

from drivers.registry import Registry
from edge.api.client import get_json
from edge.config import Config


def live_devices(config: Config) -> dict[str, dict[str, Any]] | None:
    """The running daemon's view of its devices, or None when it does not answer."""
    body = get_json(config, "/v1/devices")
    if body is None:
        return None
    return {str(d["name"]): d for d in body.get("devices", [])}


def driver_summary(registry: Registry, name: str) -> str:
    try:
        cls = registry.get(name)
    except Exception as exc:  # a broken third-party driver is listed, not fatal
        return f"cannot be loaded ({type(exc).__name__})"
    # The docstring's first paragraph, on one line.
    summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    return summary or cls.__name__


async def probe_all(config: Config, registry: Registry) -> dict[str, bool]:
    """Whether each enabled device's driver talks to its URL (the daemon must not be running)."""
    results: dict[str, bool] = {}
    for device in config.devices:
        if device.enabled:
            cls = registry.get(device.driver)
            results[device.name] = await cls.probe(device.url, device.options)
    return results


def show(config: Config, registry: Registry, out: TextIO, *, probe: bool = False) -> int:
    live = live_devices(config)
    probed = asyncio.run(probe_all(config, registry)) if probe and live is None else {}
    print("configured devices:", file=out)
    for device in config.devices:
        line = f"  {device.name}: driver {device.driver}, {device.url}"
        if not device.enabled:
            line += " (disabled)"
        elif live is not None and device.name in live:
            d = live[device.name]
            line += f" — {d['state']}"
            if d.get("detail"):
                line += f" ({d['detail']})"
            line += f", {d['reads']} reads, {d['errors']} errors, {d['reconnects']} reconnects"
        elif device.name in probed:
            line += " — answers" if probed[device.name] else " — does not answer"
        print(line, file=out)
    if not config.devices:
        print("  (none)", file=out)
    if live is None:
        print("  (daemon not running or not reachable: no live state)", file=out)
    print("known drivers:", file=out)
    for name in registry.names():
        print(f"  {name}: {driver_summary(registry, name)}", file=out)
    if probe and live is None:
        return 0 if all(probed.values()) else 1
    return 0
