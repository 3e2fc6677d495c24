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


def profile_class(name: str) -> type[SimDevice]:
    """The simulator class of a profile; KeyError naming the known ones."""
    try:
        target = PROFILES[name]
    except KeyError:
        raise KeyError(f"no simulator profile {name!r} (known: {', '.join(PROFILES)})") from None
    module, _, attr = target.partition(":")
    cls: type[SimDevice] = getattr(importlib.import_module(module), attr)
    return cls
