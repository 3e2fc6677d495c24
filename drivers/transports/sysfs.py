"""USB identity of a device node, read from sysfs (empty when not a USB device)."""

from __future__ import annotations

import os
from pathlib import Path

SYS_CLASS = Path("/sys/class")
_ATTRS = {
    "idVendor": "vendor_id",
    "idProduct": "product_id",
    "serial": "serial",
    "manufacturer": "manufacturer",
    "product": "product",
    "bcdDevice": "firmware",
}


def usb_hints(node: str, sys_class: Path = SYS_CLASS) -> dict[str, str]:
    """vendor_id, product_id, serial, ... of the USB device behind `node`, where known."""
    name = os.path.basename(node)
    for subsystem in ("tty", "input", "hidraw", "video4linux"):
        device = sys_class / subsystem / name / "device"
        if device.exists():
            return _walk_up(device.resolve())
    return {}


def _walk_up(path: Path) -> dict[str, str]:
    for candidate in (path, *path.parents):
        if (candidate / "idVendor").is_file():
            hints: dict[str, str] = {}
            for attr, key in _ATTRS.items():
                try:
                    value = (candidate / attr).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                if value.strip():
                    hints[key] = value.strip()
            return hints
    return {}
