"""Render /etc/udev/rules.d/70-midas-edge.rules for the matched devices.

Each rule matches one device node by USB vendor and product id (and the device's serial
when given, so two identical scanners get distinct links), links it as
/dev/midas-edge/<name>, gives it to the service group with mode 0660 and tags it for
systemd; serial ports are also hidden from ModemManager's probing. Every value is checked
before it goes into a rule: a bad one raises RuleError, nothing is escaped silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from provisioning.catalog import CatalogEntry, usb_id
from provisioning.errors import RuleError
from provisioning.system import LINK_DIR, SERVICE_GROUP, DeviceClass

RULES_PATH = PurePosixPath("/etc/udev/rules.d/70-midas-edge.rules")
MODE = "0660"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# USB serial strings carry more in theory; these are the ones a rule can match without escaping.
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_GROUP = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")

_TTY = ('ENV{ID_MM_DEVICE_IGNORE}="1"', 'ENV{ID_MM_PORT_IGNORE}="1"', 'ENV{MTP_NO_PROBE}="1"')
# Per class: the keys that select the node, whether the ids sit on the node itself (ATTR)
# or on its USB parent (ATTRS), and what else the node gets.
_SELECT: dict[DeviceClass, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    DeviceClass.TTY_ACM: (('SUBSYSTEM=="tty"', 'KERNEL=="ttyACM[0-9]*"'), "ATTRS", _TTY),
    DeviceClass.TTY_USB: (('SUBSYSTEM=="tty"', 'KERNEL=="ttyUSB[0-9]*"'), "ATTRS", _TTY),
    # Keyboard nodes only: a scanner's consumer-control node would take the same link.
    DeviceClass.INPUT: (
        ('SUBSYSTEM=="input"', 'KERNEL=="event[0-9]*"', 'ENV{ID_INPUT_KEYBOARD}=="1"'),
        "ATTRS",
        (),
    ),
    DeviceClass.HIDRAW: (('SUBSYSTEM=="hidraw"',), "ATTRS", ()),
    # The capture node; a UVC camera's second node (index 1) carries metadata only.
    DeviceClass.VIDEO: (('SUBSYSTEM=="video4linux"', 'ATTR{index}=="0"'), "ATTRS", ()),
    DeviceClass.USB_DEVICE: (('SUBSYSTEM=="usb"', 'ENV{DEVTYPE}=="usb_device"'), "ATTR", ()),
}


@dataclass(frozen=True, slots=True)
class DeviceRule:
    """One device node to link and hand to the service: checked and normalized on creation."""

    name: str
    node: DeviceClass
    vendor_id: str
    product_id: str
    serial: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise RuleError(
                f"name: expected a device name of letters, digits, '.', '_' or '-', "
                f"got {self.name!r}"
            )
        if self.node not in _SELECT:
            raise RuleError(
                f"{self.name}: {self.node} nodes have no USB ids to match (address the "
                "device by its own path)"
            )
        for key in ("vendor_id", "product_id"):
            value = usb_id(getattr(self, key))
            if value is None:
                raise RuleError(f"{self.name}: {key}: expected 4 hex digits")
            object.__setattr__(self, key, value)
        if self.serial is not None and (
            not isinstance(self.serial, str) or not _SERIAL.match(self.serial)
        ):
            # The serial is the device's, not personal data, but it may be anything: not quoted.
            raise RuleError(
                f"{self.name}: serial: expected up to 64 letters, digits, '.', '_', '+' or '-'"
            )

    @property
    def link(self) -> PurePosixPath:
        """The stable path udev creates for the node."""
        return LINK_DIR / self.name

    def overlaps(self, other: DeviceRule) -> bool:
        """Whether one device node could match both rules (a link fight)."""
        return (
            _SELECT[self.node][0] == _SELECT[other.node][0]
            and (self.vendor_id, self.product_id) == (other.vendor_id, other.product_id)
            and (self.serial is None or other.serial is None or self.serial == other.serial)
        )


def rule_for(
    name: str,
    entry: CatalogEntry,
    vendor_id: str | int,
    product_id: str | int,
    serial: str | None = None,
) -> DeviceRule:
    """The rule for a discovered device the catalog matched; RuleError when it has no node."""
    if entry.node is None:
        raise RuleError(f"{name}: {entry.key} devices have no node of ours to link")
    vid, pid = usb_id(vendor_id), usb_id(product_id)
    if vid is None or pid is None:
        raise RuleError(f"{name}: expected vendor and product ids of 4 hex digits")
    return DeviceRule(name=name, node=entry.node, vendor_id=vid, product_id=pid, serial=serial)


def render_rule(rule: DeviceRule, group: str = SERVICE_GROUP) -> str:
    """One rule for one device node: matches, then assignments on continuation lines."""
    select, attr, extra = _SELECT[rule.node]
    keys = [
        *select,
        f'{attr}{{idVendor}}=="{rule.vendor_id}"',
        f'{attr}{{idProduct}}=="{rule.product_id}"',
    ]
    if rule.serial is not None:
        keys.append(f'{attr}{{serial}}=="{rule.serial}"')
    link = rule.link.relative_to("/dev")
    actions = [f'SYMLINK+="{link}"', f'GROUP="{group}"', f'MODE="{MODE}"', 'TAG+="systemd"']
    lines = [", ".join(keys), ", ".join(actions)]
    if extra:
        lines.append(", ".join(extra))
    return f"# {rule.name}\n" + ", \\\n  ".join(lines) + "\n"


def render_rules(rules: Sequence[DeviceRule], *, group: str = SERVICE_GROUP) -> str:
    """The rules file for `rules`; RuleError on a bad group, a repeated name or a link fight."""
    if not _GROUP.match(group):
        raise RuleError(f"group: expected a system group name, got {group!r}")
    for i, rule in enumerate(rules):
        for other in rules[:i]:
            if rule.name == other.name:
                raise RuleError(f"{rule.name}: two devices with one name")
            if rule.overlaps(other):
                raise RuleError(
                    f"{rule.name} and {other.name}: the same device ids "
                    f"({rule.vendor_id}:{rule.product_id}); give each device its serial"
                )
    header = (
        "# Rendered by `midas-edge provision` for the devices it matched; re-rendered on every\n"
        "# run. Links every device as /dev/midas-edge/<name> for the midas-edge service group.\n"
    )
    return header + "".join("\n" + render_rule(r, group) for r in rules)


def render_udev(
    rules: Sequence[DeviceRule], *, group: str = SERVICE_GROUP
) -> dict[PurePosixPath, str]:
    """The rules file keyed by its target path, like `units.render_units`."""
    return {RULES_PATH: render_rules(rules, group=group)}
