"""Names the installed system shares: service account, unit, paths, kernel device classes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

SERVICE_USER = "midas-edge"
SERVICE_GROUP = "midas-edge"
UNIT_NAME = "midas-edge.service"
DEFAULT_EXECUTABLE = PurePosixPath("/usr/bin/midas-edge")
CONFIG_DIR = PurePosixPath("/etc/midas-edge")
CONFIG_PATH = CONFIG_DIR / "config.toml"
STATE_DIR = PurePosixPath("/var/lib/midas-edge")
# udev gives every matched device a stable link here: /dev/midas-edge/<device name>.
LINK_DIR = PurePosixPath("/dev/midas-edge")


class DeviceClass(StrEnum):
    """A character-device group of /proc/devices, as `DeviceAllow=char-<group>` names it."""

    TTY_ACM = "ttyACM"  # USB CDC-ACM serial (cdc_acm)
    TTY_USB = "ttyUSB"  # USB-serial adapters (ftdi_sio, pl2303, cp210x, ch341)
    TTY_S = "ttyS"  # on-board RS-232 ports
    INPUT = "input"  # evdev nodes of keyboard-wedge readers
    HIDRAW = "hidraw"
    VIDEO = "video4linux"  # UVC cameras
    USB_DEVICE = "usb_device"  # raw libusb nodes (/dev/bus/usb) of HID POS scanners


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """How the unit and the udev rules treat one device class."""

    access: str  # DeviceAllow= access: "r" or "rw"
    subsystem: str  # udev SUBSYSTEM of its nodes
    # The module that registers the class's major number: `DeviceAllow=` drops a group the
    # kernel does not know yet when the unit starts, so the unit orders after modprobe@<module>.
    # None where the class is built into every kernel the appliance runs.
    module: str | None


CLASS_INFO: dict[DeviceClass, ClassInfo] = {
    DeviceClass.TTY_ACM: ClassInfo("rw", "tty", "cdc_acm"),
    DeviceClass.TTY_USB: ClassInfo("rw", "tty", "usbserial"),
    DeviceClass.TTY_S: ClassInfo("rw", "tty", None),
    DeviceClass.INPUT: ClassInfo("r", "input", None),
    DeviceClass.HIDRAW: ClassInfo("rw", "hidraw", "hid"),
    DeviceClass.VIDEO: ClassInfo("rw", "video4linux", "videodev"),
    DeviceClass.USB_DEVICE: ClassInfo("rw", "usb", None),
}
# The workstation's TLS identity (issued at enrollment) and the region CA it pins.
REGION_CA = CONFIG_DIR / "regional-ca.pem"
TLS_CERT = CONFIG_DIR / "workstation.crt"
TLS_KEY = CONFIG_DIR / "workstation-tls.key"
# The provisioning report, in the data dir.
REPORT_JSON = "provision-report.json"
REPORT_TEXT = "provision-report.txt"
