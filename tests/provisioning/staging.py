"""A staged workstation for provisioning tests: simulated devices behind a fake sysfs and /dev.

The tree mirrors a real one: `<root>/sys/devices/.../usb1/1-N` holds the USB device
attributes (idVendor, idProduct, serial, ...), its interface `1-N:1.0` the interface class,
protocol and the bound driver link; `<root>/sys/class/<subsystem>/<node>/device` links to the
interface; `<root>/dev/<node>` is the simulator's own link (to its pty, or to a camera's
video file) and `<root>/dev/serial/by-id/...` and `<root>/dev/v4l/by-id/...` link to the node
as udev's relative links do. The HID POS scanner sits on the in-process fake USB bus. The
region (CA, tokens, trust) and its receiver run on loopback with mutual TLS.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.access.sim import AccessStxSim
from drivers.barcode.sim import BarcodeCdcSim
from drivers.camera.sim import CameraSim
from drivers.hidpos.fakeusb import fake_bus
from drivers.hidpos.sim import HidPosSim
from provisioning.provision import Machine, provision
from provisioning.report import Report
from provisioning.settings import Settings
from provisioning.ui import Console
from receiver.app import serve
from receiver.checks import Trust
from receiver.region import Region, init_region
from receiver.region_cli import region_tls
from receiver.sqlite_store import SqliteStorage
from receiver.tokens import TokenStore

WORKSTATION = "bz-test-01"
USB = "sys/devices/pci0000:00/0000:00:14.0/usb1"
PASSPORT_LINK = "usb-Access_IS_ATOM_A1B2-if00"
SCANNER_LINK = "usb-Honeywell_Xenon_1950g_21084B0123-if00"
CAMERA_LINK = "usb-Logitech_Webcam_C925e_8C3A1F2E-video-index0"
HIDPOS_SERIAL = "HP000042"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def _link(link: Path, target: Path) -> None:
    """A relative symlink, as udev and sysfs make them."""
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(target, link.parent))


def usb_device(
    root: Path,
    port: str,
    ids: tuple[str, str],
    *,
    serial: str,
    product: str,
    interface: tuple[int, int],
    driver: str,
) -> Path:
    """A USB device with one interface bound to `driver`; the interface directory."""
    device = root / USB / port
    for name, value in (
        ("idVendor", ids[0]),
        ("idProduct", ids[1]),
        ("serial", serial),
        ("product", product),
        ("manufacturer", product.split(maxsplit=1)[0]),
    ):
        _write(device / name, value)
    intf = device / f"{port}:1.0"
    _write(intf / "bInterfaceClass", f"{interface[0]:02x}")
    _write(intf / "bInterfaceProtocol", f"{interface[1]:02x}")
    drivers = root / "sys/bus/usb/drivers" / driver
    drivers.mkdir(parents=True, exist_ok=True)
    _link(intf / "driver", drivers)
    return intf


def node(root: Path, subsystem: str, name: str, intf: Path, by_id: str, link: str) -> Path:
    """/sys/class/<subsystem>/<name>/device and the stable /dev/<by_id>/<link>."""
    _link(root / "sys/class" / subsystem / name / "device", intf)
    _link(root / "dev" / by_id / link, root / "dev" / name)
    return root / "dev" / name


@dataclass
class Bench:
    """The staged workstation, its simulators and the region it enrolls with."""

    root: Path
    region: Region
    url: str
    storage: SqliteStorage
    passport: AccessStxSim
    scanner: BarcodeCdcSim
    camera: CameraSim
    hidpos: HidPosSim
    receiver: contextlib.AsyncExitStack
    outputs: list[str] = field(default_factory=list)

    async def stop_receiver(self) -> None:
        """The regional server goes away (its port then refuses connections)."""
        await self.receiver.aclose()

    def token(self) -> str:
        return TokenStore(self.region.tokens_path).issue(WORKSTATION, time.time())

    def settings(self, **changes: Any) -> Settings:
        values: dict[str, Any] = {
            "workstation": WORKSTATION,
            "region_url": self.url + "/",
            "ca_fingerprint": self.region.fingerprint,
            "root": self.root,
        }
        values.update(changes)
        return Settings(**values)

    async def provision(self, **changes: Any) -> Report:
        out = io.StringIO()
        report = await provision(
            self.settings(**changes), Console(out), Machine(usb_backend=fake_bus())
        )
        self.outputs.append(out.getvalue())
        return report


@contextlib.asynccontextmanager
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    root = tmp_path / "root"
    root.mkdir()
    passport_if = usb_device(
        root,
        "1-1",
        ("0db5", "0139"),
        serial="A1B2",
        product="Access ATOM",
        interface=(2, 1),
        driver="cdc_acm",
    )
    scanner_if = usb_device(
        root,
        "1-2",
        ("0c2e", "0b61"),
        serial="21084B0123",
        product="Honeywell Xenon",
        interface=(2, 1),
        driver="cdc_acm",
    )
    camera_if = usb_device(
        root,
        "1-3",
        ("046d", "085b"),
        serial="8C3A1F2E",
        product="Logitech C925e",
        interface=(14, 0),
        driver="uvcvideo",
    )
    passport_dev = node(root, "tty", "ttyACM0", passport_if, "serial/by-id", PASSPORT_LINK)
    scanner_dev = node(root, "tty", "ttyACM1", scanner_if, "serial/by-id", SCANNER_LINK)
    camera_dev = node(root, "video4linux", "video0", camera_if, "v4l/by-id", CAMERA_LINK)
    region, _ = init_region(tmp_path / "region", ["127.0.0.1", "localhost"])
    storage = SqliteStorage(tmp_path / "receiver.db")
    await storage.open()
    try:
        async with (
            AccessStxSim(link=passport_dev) as passport,
            BarcodeCdcSim(link=scanner_dev, code_id_mode="none", terminator="none") as scanner,
            CameraSim(camera_dev, mode="video", count=30) as camera,
            HidPosSim(serial=HIDPOS_SERIAL) as hidpos,
            contextlib.AsyncExitStack() as receiver,
        ):
            where = await receiver.enter_async_context(
                serve(
                    storage, Trust(region.trust_dir), ssl_context=region_tls(region), region=region
                )
            )
            yield Bench(
                root,
                region,
                f"https://127.0.0.1:{where.port}",
                storage,
                passport,
                scanner,
                camera,
                hidpos,
                receiver,
            )
    finally:
        await storage.close()


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int, int, bytes]]:
    """Every file and link under `root`: mode, owner, group and content (or link target)."""
    out: dict[str, tuple[int, int, int, bytes]] = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            if rel.startswith(skip):
                continue
            st = path.lstat()
            if path.is_symlink():
                data = os.readlink(path).encode()
            elif path.is_file():
                data = path.read_bytes()
            else:
                data = b""
            out[rel] = (st.st_mode, st.st_uid, st.st_gid, data)
    return out
