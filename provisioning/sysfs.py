"""USB identity of device nodes from sysfs, and the stable links udev made for them.

Everything is read relative to a root (`/` on a workstation, the staging directory under
`--root`), so a staged tree of sysfs attribute files and /dev symlinks is discovered exactly
as a real one: `<root>/sys/class/<subsystem>/<node>/device` leads (through symlinks) into
the USB device tree, whose interface directory holds `bInterfaceClass`, `bInterfaceProtocol`
and the bound `driver` link, and whose device directory holds `idVendor`, `idProduct`,
`serial`, `manufacturer` and `product`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_STRINGS = ("serial", "manufacturer", "product")


@dataclass(frozen=True, slots=True)
class UsbIds:
    """What the USB descriptors say of a device and of the interface a node belongs to."""

    vendor_id: str
    product_id: str
    serial: str | None = None
    manufacturer: str | None = None
    product: str | None = None
    interface_class: int | None = None
    interface_protocol: int | None = None
    driver: str | None = None  # kernel driver bound to the interface


def _text(path: Path) -> str | None:
    try:
        value = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return value or None


def _hex_byte(path: Path) -> int | None:
    value = _text(path)
    try:
        return int(value, 16) if value is not None else None
    except ValueError:
        return None


def _interface_ids(start: Path) -> UsbIds | None:
    interface: Path | None = None
    for candidate in (start, *start.parents):
        if interface is None and (candidate / "bInterfaceClass").is_file():
            interface = candidate
        vendor, product = _text(candidate / "idVendor"), _text(candidate / "idProduct")
        if vendor is not None and product is not None:
            driver = None
            if interface is not None and (interface / "driver").is_symlink():
                driver = os.path.basename(os.readlink(interface / "driver"))
            strings = {key: _text(candidate / key) for key in _STRINGS}
            return UsbIds(
                vendor_id=vendor.lower(),
                product_id=product.lower(),
                serial=strings["serial"],
                manufacturer=strings["manufacturer"],
                product=strings["product"],
                interface_class=_hex_byte(interface / "bInterfaceClass") if interface else None,
                interface_protocol=(
                    _hex_byte(interface / "bInterfaceProtocol") if interface else None
                ),
                driver=driver,
            )
    return None


def usb_ids(root: Path, subsystem: str, node: str) -> UsbIds | None:
    """The USB ids behind /dev/<node> of `subsystem` (tty, input, video4linux); None: not USB."""
    device = root / "sys" / "class" / subsystem / node / "device"
    try:
        resolved = device.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return _interface_ids(resolved)


def class_nodes(root: Path, subsystem: str, prefixes: tuple[str, ...]) -> list[str]:
    """Node names of a sysfs class that start with one of `prefixes`, sorted."""
    folder = root / "sys" / "class" / subsystem
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return []
    return [n for n in names if n.startswith(prefixes)]


def stable_links(root: Path, folder: str, suffix: str = "") -> dict[str, str]:
    """node name -> link name, for the symlinks in `<root>/dev/<folder>` ending in `suffix`.

    udev's links are relative (`../../ttyACM0`); the node is the link target's file name.
    """
    directory = root / "dev" / folder
    out: dict[str, str] = {}
    try:
        links = sorted(directory.iterdir())
    except OSError:
        return out
    for link in links:
        if link.is_symlink() and link.name.endswith(suffix):
            out.setdefault(os.path.basename(os.readlink(link)), link.name)
    return out
