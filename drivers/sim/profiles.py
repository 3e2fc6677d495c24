"""Simulator profiles by name, imported lazily (`midas-edge simulate PROFILE`, the demo, tests)."""

from __future__ import annotations

import importlib

from drivers.sim.device import SimDevice

# profile → "module:Class"
PROFILES: dict[str, str] = {
    "rte-native": "drivers.rte.sim:RteSim",
    "rte-interrupt": "drivers.rte.sim:RteInterruptSim",
    "rte-polled": "drivers.rte.sim:RtePolledSim",
    "honeywell-ocr-cdc": "drivers.mrzline.sim:HoneywellOcrSim",
    "access-standard": "drivers.access.sim:AccessStxSim",
    "barcode-cdc": "drivers.barcode.sim:BarcodeCdcSim",
    "hidpos": "drivers.hidpos.sim:HidPosSim",
    "wedge": "drivers.wedge.sim:WedgeSim",
}


# A driver's name also names its family's usual simulator (`midas-edge simulate mrz-rte`).
BY_DRIVER: dict[str, str] = {
    "mrz-rte": "rte-native",
    "mrz-line": "honeywell-ocr-cdc",
    "access-stx": "access-standard",
    "barcode-serial": "barcode-cdc",
    "barcode-hidpos": "hidpos",
}


def profile_class(name: str) -> type[SimDevice]:
    """The simulator class of a profile (or of a driver's family); KeyError naming them."""
    try:
        target = PROFILES[BY_DRIVER.get(name, name)]
    except KeyError:
        raise KeyError(f"no simulator profile {name!r} (known: {', '.join(PROFILES)})") from None
    module, _, attr = target.partition(":")
    cls: type[SimDevice] = getattr(importlib.import_module(module), attr)
    return cls
