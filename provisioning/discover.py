"""Hardware discovery: what is plugged in, what the catalog says it is, whether its driver agrees.

Sources: USB serial ports (pyserial's `list_ports` on a workstation; the staged
`sys/class/tty` under `--root`), USB devices through pyusb (HID POS scanners, and what has no
node of ours, such as SDK-only readers), cameras (`/dev/v4l/by-id/*-video-index0`),
keyboard-wedge inputs (`/dev/input/by-id/*-event-kbd`) and PC/SC readers when pcscd runs. Each
is matched against the catalog, then confirmed: a family with a handshake of its own must
answer it (`probe()`); a family that only listens (RTE readers, keyboards, cameras) is
confirmed by opening the device with its driver, and its first read comes in the self-test,
except on a catalog match any serial device meets (`needs_answer`): opening it proves
nothing, so it stays "unconfirmed" until the technician says what it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.base import Driver, DriverError
from drivers.registry import Registry
from drivers.stream import StreamDriver
from provisioning.catalog import Catalog, CatalogEntry
from provisioning.sysfs import UsbIds, class_nodes, stable_links, usb_ids
from provisioning.system import DeviceClass

log = logging.getLogger("midas_edge.provisioning")

# Opening a device to confirm a family that only listens (a camera negotiates its mode).
OPEN_CHECK_S = 15.0
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
_SERIAL_NODES = ("ttyACM", "ttyUSB")
# Node classes that have a scan of their own; the pyusb scan keeps the others.
_NODE_SCANS = frozenset(
    {DeviceClass.TTY_ACM, DeviceClass.TTY_USB, DeviceClass.INPUT, DeviceClass.VIDEO}
)
USABLE = frozenset({"confirmed", "kept"})


@dataclass
class Found:
    """One discovered device and what became of it."""

    source: str  # serial | usb | camera | input | pcsc
    node: str  # the system's name for it: /dev/ttyACM0, usb bus/address, a reader name
    url: str  # what the config uses: a stable path or a usb:// URL
    ids: UsbIds | None = None
    entry: CatalogEntry | None = None
    family: str | None = None  # the confirmed driver family
    # unmatched | unsupported | no driver | no answer | unconfirmed (opens, says nothing of
    # itself) | confirmed | kept (configured, held by the running daemon or silent now)
    status: str = "unmatched"
    how: str = ""  # "answers" (a handshake), "opens", "technician", "given", why it was kept
    options: dict[str, Any] = field(default_factory=dict)
    candidate: str | None = None  # the family that opened an unconfirmed device

    @property
    def usable(self) -> bool:
        """Whether it goes into the config, the units and the udev rules."""
        return self.status in USABLE

    def describe(self) -> str:
        ids = f"{self.ids.vendor_id}:{self.ids.product_id}" if self.ids else "no USB ids"
        name = self.entry.name if self.entry else "not in the catalog"
        return f"{self.url} ({ids}): {name}"

    def as_dict(self) -> dict[str, Any]:
        """For the report (no personal data: devices carry none)."""
        ids = self.ids
        return {
            "source": self.source,
            "node": self.node,
            "url": self.url,
            "vendor_id": ids.vendor_id if ids else None,
            "product_id": ids.product_id if ids else None,
            "serial": ids.serial if ids else None,
            "product": ids.product if ids else None,
            "interface_class": ids.interface_class if ids else None,
            "kernel_driver": ids.driver if ids else None,
            "catalog": self.entry.key if self.entry else None,
            "family": self.family,
            "status": self.status,
            "confirmed_by": self.how or None,
            "candidate": self.candidate,
            "unsupported": self.entry.unsupported if self.entry else None,
        }


# -- scans -------------------------------------------------------------------------------------


def scan_serial(root: Path | None) -> list[Found]:
    """USB serial ports: pyserial's list on a workstation, the staged sysfs under a root."""
    base = root or Path("/")
    if root is None:
        from serial.tools import list_ports  # noqa: PLC0415  # only a workstation lists its own

        names = sorted(
            os.path.basename(p.device)
            for p in list_ports.comports()
            if p.vid is not None and os.path.basename(p.device).startswith(_SERIAL_NODES)
        )
    else:
        names = class_nodes(base, "tty", _SERIAL_NODES)
    links = stable_links(base, "serial/by-id")
    out = []
    for name in names:
        ids = usb_ids(base, "tty", name)
        if ids is None:
            continue
        link = links.get(name)
        url = f"/dev/serial/by-id/{link}" if link else f"/dev/{name}"
        out.append(Found("serial", f"/dev/{name}", url, ids))
    return out


def _linked(
    root: Path | None, folder: str, suffix: str, subsystem: str, source: str
) -> list[Found]:
    base = root or Path("/")
    out = []
    for node, link in sorted(stable_links(base, folder, suffix).items()):
        ids = usb_ids(base, subsystem, node)
        if ids is not None:
            out.append(Found(source, f"/dev/{node}", f"/dev/{folder}/{link}", ids))
    return out


def scan_cameras(root: Path | None) -> list[Found]:
    """UVC cameras by their stable link (the capture node, index 0)."""
    return _linked(root, "v4l/by-id", "-video-index0", "video4linux", "camera")


def scan_inputs(root: Path | None) -> list[Found]:
    """USB keyboards (keyboard-wedge readers and scanners) by their stable event link."""
    return _linked(root, "input/by-id", "-event-kbd", "input", "input")


def _usb_string(dev: Any, index: int) -> str | None:
    import usb.util  # noqa: PLC0415  # pyusb loads libusb when first used

    if not index:
        return None
    try:
        return str(usb.util.get_string(dev, index)) or None
    except (ValueError, OSError, NotImplementedError) as exc:  # no permission, no langid
        log.debug("USB string %d unreadable: %s", index, exc)
        return None


def scan_usb(backend: object | None, catalog: Catalog) -> tuple[list[Found], str | None]:
    """USB devices through pyusb whose match has no node scan of its own; (found, note)."""
    import usb.core  # noqa: PLC0415

    try:
        devices = list(usb.core.find(find_all=True, backend=backend))
    except usb.core.NoBackendError:
        return [], "pyusb found no libusb backend (apt-get install libusb-1.0-0)"
    out: list[Found] = []
    seen: set[tuple[str, str, str | None]] = set()
    for dev in devices:
        vid, pid = f"{dev.idVendor:04x}", f"{dev.idProduct:04x}"
        serial = _usb_string(dev, dev.iSerialNumber)
        try:
            interfaces = [
                (int(i.bInterfaceClass), int(i.bInterfaceProtocol)) for cfg in dev for i in cfg
            ]
        except usb.core.USBError as exc:  # descriptors unreadable: the device is listed only
            log.debug("USB %s:%s descriptors unreadable: %s", vid, pid, exc)
            interfaces = []
        for cls, proto in interfaces:
            entry = catalog.match(vid, pid, cls, interface_protocol=proto)
            if entry is None or entry.node in _NODE_SCANS or (vid, pid, serial) in seen:
                continue
            seen.add((vid, pid, serial))
            url = f"usb://{vid}:{pid}" + (f"?serial={serial}" if serial else "")
            ids = UsbIds(vid, pid, serial, None, _usb_string(dev, dev.iProduct), cls, proto)
            out.append(Found("usb", f"usb bus {dev.bus} address {dev.address}", url, ids))
    return out, None


def scan_pcsc() -> tuple[list[Found], str | None]:
    """PC/SC readers, when pcscd runs and pyscard is installed (chip readers: no driver yet)."""
    if shutil.which("pcscd") is None or not PCSCD_SOCKET.exists():
        return [], None
    try:
        from smartcard.System import readers  # type: ignore[import-not-found]  # noqa: PLC0415  # optional extra
    except ImportError:
        return [], "pcscd runs but pyscard is not installed: chip readers not listed"
    try:
        names = [str(r) for r in readers()]
    except Exception as exc:  # pyscard raises its own types for a pcscd that does not answer
        return [], f"pcscd did not list its readers ({type(exc).__name__})"
    return [
        Found("pcsc", name, f"pcsc://{i}", status="unsupported") for i, name in enumerate(names)
    ], None


# -- matching and confirmation ---------------------------------------------------------------


def match(found: Found, catalog: Catalog) -> None:
    """Set the catalog entry (and the unsupported status) of a found device."""
    ids = found.ids
    if ids is None:
        return
    entry = catalog.match(
        ids.vendor_id,
        ids.product_id,
        ids.interface_class,
        ids.driver,
        interface_protocol=ids.interface_protocol,
    )
    found.entry = entry
    if entry is not None and not entry.supported:
        found.status = "unsupported"


def asks(cls: type[Driver]) -> bool:
    """Whether the family's probe() asks the device something, rather than only listening."""
    if issubclass(cls, StreamDriver):
        return cls.handshake is not StreamDriver.handshake
    return getattr(cls.probe, "__func__", None) is not getattr(Driver.probe, "__func__", None)


async def opens(cls: type[Driver], url: str, options: Mapping[str, Any]) -> bool:
    """Whether the driver opens the device (and closes it again) within OPEN_CHECK_S."""
    try:
        driver = cls(url, dict(options))
    except (ValueError, DriverError):
        return False
    try:
        async with asyncio.timeout(OPEN_CHECK_S):
            await driver.open()
    except (DriverError, TimeoutError, OSError):
        return False
    finally:
        with contextlib.suppress(DriverError, OSError):
            await driver.close()
    return True


async def confirm(found: Found, registry: Registry, path: str) -> None:
    """Ask the catalog's families, those with a handshake first; `path` is where to open it."""
    entry = found.entry
    if entry is None or not entry.supported:
        return
    classes: list[tuple[str, type[Driver]]] = []
    for family in entry.families:
        try:
            classes.append((family, registry.get(family)))
        except DriverError as exc:
            log.warning("family %s cannot be used: %s", family, exc)
    if not classes:
        found.status = "no driver"
        return
    asking = [(f, c) for f, c in classes if asks(c)]
    listening = [(f, c) for f, c in classes if not asks(c)]
    for family, cls in asking:
        if await cls.probe(path, dict(entry.options)):
            found.family, found.how, found.status = family, "answers", "confirmed"
            found.options = dict(entry.options)
            return
    for family, cls in listening[:1]:
        if await opens(cls, path, entry.options):
            found.how, found.options = "opens", dict(entry.options)
            if entry.needs_answer:  # any serial device opens: the technician must say
                found.status, found.candidate = "unconfirmed", family
            else:
                found.family, found.status = family, "confirmed"
            return
    found.status = "no answer"


def in_use(path: str) -> bool:
    """Whether another process holds the serial port at `path` (as the daemon does: pyserial's
    exclusive lock, or a node that answers busy)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return exc.errno == errno.EBUSY
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops the lock it took
    return False


@dataclass
class Discovery:
    """Everything found, and notes on what could not be looked at."""

    found: list[Found] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def confirmed(self) -> list[Found]:
        """What goes into the config: confirmed, and configured devices kept."""
        return [f for f in self.found if f.usable]


async def discover(
    catalog: Catalog, registry: Registry, root: Path | None, usb_backend: object | None = None
) -> Discovery:
    """Scan, match and confirm every device; `usb_backend` replaces libusb (a simulated bus)."""
    result = Discovery()
    result.found += await asyncio.to_thread(scan_serial, root)
    result.found += await asyncio.to_thread(scan_cameras, root)
    result.found += await asyncio.to_thread(scan_inputs, root)
    if root is None or usb_backend is not None:
        found, note = await asyncio.to_thread(scan_usb, usb_backend, catalog)
        result.found += found
        if note:
            result.notes.append(note)
    else:
        result.notes.append("USB devices without a node (HID POS) not scanned: --root stages none")
    if root is None:
        found, note = await asyncio.to_thread(scan_pcsc)
        result.found += found
        if note:
            result.notes.append(note)
    for item in result.found:
        match(item, catalog)
        where = str(root / item.url.lstrip("/")) if root and item.url.startswith("/") else item.url
        await confirm(item, registry, where)
    return result
