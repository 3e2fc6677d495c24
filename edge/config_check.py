"""What `midas-edge config check` proves beyond reading the file, for every caller.

`config check` and provisioning (before it writes a config) call `check_config`: the driver
and options of every enabled device, the data dir (created 0700 if missing, and writable),
and the alert lists' fetch sink and region key. A staged system (`provision --root DIR`)
passes `where`, which maps the config's absolute paths to where they are on this machine,
and leaves the data dir out (`data_dir=False`) where it does not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from drivers.registry import Registry
from edge.alerts.config import checked_key
from edge.config import Config, check_data_dir
from edge.devices import resolve_drivers


def check_config(
    config: Config,
    registry: Registry,
    source: str,
    *,
    where: Callable[[str], Path] = Path,
    data_dir: bool = True,
) -> None:
    """Raise ConfigError (naming the file and key) for what the config cannot run with."""
    replace = msgspec.structs.replace
    resolve_drivers(config, registry, source)
    if data_dir:
        staged = replace(config.workstation, data_dir=str(where(config.workstation.data_dir)))
        check_data_dir(replace(config, workstation=staged), source)
    if config.alerts is not None:
        alerts = config.alerts
        if alerts.public_key.startswith("/"):  # a key file, not the key itself
            alerts = replace(alerts, public_key=str(where(alerts.public_key)))
        checked_key(alerts, {s.name: s.kind for s in config.sinks}, source)
