"""Render the systemd unit, its workstation drop-in, sysusers and tmpfiles for one config.

`render_units(config)` is pure: the same config and arguments give the same files, keyed by
their absolute target path; `staged(root, target)` maps a target under a `--root` staging
directory. The base unit allows every USB device class; the drop-in sets `DeviceAllow=` to
the classes the configured devices use and adds what the config needs beyond the state
directory: the NAS mounts (ordered with `RequiresMountsFor=`, writable), a data directory
elsewhere, an IP allow list. Paths that ProtectHome= or PrivateTmp= would hide are refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath, PurePosixPath
from typing import Literal

from edge.config import Config
from provisioning.errors import UnitError
from provisioning.system import (
    CONFIG_PATH,
    DEFAULT_EXECUTABLE,
    SERVICE_GROUP,
    SERVICE_USER,
    STATE_DIR,
    UNIT_NAME,
    DeviceClass,
)
from provisioning.unit_text import SERVICE, SYSUSERS, TMPFILES, device_allow

UNIT_DIR = PurePosixPath("/etc/systemd/system")
UNIT_PATH = UNIT_DIR / UNIT_NAME
DROPIN_PATH = UNIT_DIR / f"{UNIT_NAME}.d" / "50-workstation.conf"
SYSUSERS_PATH = PurePosixPath("/etc/sysusers.d/midas-edge.conf")
TMPFILES_PATH = PurePosixPath("/etc/tmpfiles.d/midas-edge.conf")

# How the unit depends on a NAS mount. "requires": `RequiresMountsFor=` (the unit does not
# start while the share cannot be mounted); "wants": ordered after the mount and pulling it
# in, but starting (and capturing) without it: the NAS sink refuses to write to a bare
# mount point and delivers once the share is back.
NasDependency = Literal["requires", "wants"]

# Characters a path may carry into a unit file: no spaces, quotes, backslashes or `%`
# specifiers, so no value needs quoting or escaping.
_PATH = re.compile(r"^/[A-Za-z0-9._@+/-]*$")
# Paths the unit hides from the daemon (ProtectHome=yes, PrivateTmp=yes).
_HIDDEN = tuple(
    PurePosixPath(p)
    for p in ("/home", "/root", "/run/user", "/tmp", "/var/tmp")  # noqa: S108  # hidden, not used
)
_SERIAL_FAMILIES = frozenset({"mrz-rte", "mrz-line", "access-stx", "barcode-serial"})
_BY_NODE = (
    ("/dev/ttyACM", DeviceClass.TTY_ACM),
    ("/dev/ttyUSB", DeviceClass.TTY_USB),
    ("/dev/ttyS", DeviceClass.TTY_S),
    ("/dev/input/", DeviceClass.INPUT),
    ("/dev/hidraw", DeviceClass.HIDRAW),
    ("/dev/video", DeviceClass.VIDEO),
    ("/dev/v4l/", DeviceClass.VIDEO),
    ("/dev/bus/usb/", DeviceClass.USB_DEVICE),
    ("usb://", DeviceClass.USB_DEVICE),
    ("v4l2://", DeviceClass.VIDEO),
)
_BY_FAMILY = {
    "wedge": frozenset({DeviceClass.INPUT}),
    "camera": frozenset({DeviceClass.VIDEO}),
    "barcode-hidpos": frozenset({DeviceClass.USB_DEVICE}),
}
_SERIAL_LINK = frozenset({DeviceClass.TTY_ACM, DeviceClass.TTY_USB})


def check_path(value: str, key: str) -> PurePosixPath:
    """`value` as a normalized absolute path that can go into a unit unquoted; UnitError if not."""
    path = PurePosixPath(value)
    if (
        not _PATH.match(value)
        or str(path) != value
        or any(part in (".", "..") for part in path.parts)
    ):
        raise UnitError(
            f"{key}: expected a normalized absolute path of letters, digits and . _ @ + - /"
        )
    return path


def device_classes(driver: str, url: str) -> frozenset[DeviceClass]:
    """The device classes a configured device opens, from its URL, else from its family.

    Stable links (/dev/midas-edge/..., /dev/serial/by-id/...) do not say whether a serial
    reader is CDC-ACM or behind a USB-serial adapter: both classes, unless the caller narrows
    them from the catalog. Simulated, socket and file devices open no device node.
    """
    for prefix, cls in _BY_NODE:
        if url.startswith(prefix):
            return frozenset({cls})
    if driver == "wedge" and url.startswith("/dev/tty"):
        return frozenset({DeviceClass.TTY_ACM, DeviceClass.TTY_USB})
    if not url.startswith("/dev/") or url.startswith("/dev/pts/"):
        return frozenset()
    if driver in _SERIAL_FAMILIES:
        return _SERIAL_LINK
    return _BY_FAMILY.get(driver, frozenset())


def config_classes(config: Config) -> frozenset[DeviceClass]:
    """Every device class the enabled devices of `config` open."""
    out: set[DeviceClass] = set()
    for device in config.devices:
        if device.enabled:
            out |= device_classes(device.driver, device.url)
    return frozenset(out)


def mount_unit(path: PurePosixPath) -> str:
    """The mount unit of `path`, as `systemd-escape --path --suffix=mount` names it."""
    trimmed = str(path).strip("/")
    if not trimmed:
        return "-.mount"
    out = []
    for i, ch in enumerate(trimmed):
        if ch == "/":
            out.append("-")
        elif ch.isascii() and (ch.isalnum() or ch in ":_" or (ch == "." and i > 0)):
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}")
    return "".join(out) + ".mount"


def _visible(path: PurePosixPath, key: str) -> PurePosixPath:
    for hidden in _HIDDEN:
        if path == hidden or path.is_relative_to(hidden):
            raise UnitError(f"{key}: {path} is hidden from the service (ProtectHome=, PrivateTmp=)")
    return path


def _config_paths(config: Config) -> list[tuple[str, str]]:
    """(key, path) of every file or directory the daemon reads or writes, for the checks."""
    out = [("workstation.data_dir", config.workstation.data_dir)]
    for i, sink in enumerate(config.sinks):
        for key in ("ca", "cert", "key"):
            if (value := getattr(sink, key)) is not None:
                out.append((f"sinks[{i}].{key}", value))
        if sink.kind == "nas":
            out.append((f"sinks[{i}].target", sink.target))
    if config.documents.certs_dir is not None:
        out.append(("documents.certs_dir", config.documents.certs_dir))
    return out


def _allow_list(ip_allow: Sequence[str]) -> list[str]:
    out = []
    for value in ip_allow:
        try:
            out.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            raise UnitError(f"ip_allow: expected an IP address or network, got {value!r}") from None
    return out


def render_dropin(
    config: Config,
    *,
    extra_classes: Iterable[DeviceClass] = (),
    ip_allow: Sequence[str] = (),
    nas_dependency: NasDependency = "requires",
) -> str:
    """The workstation drop-in: device classes in use, NAS mounts, data dir, IP allow list."""
    for key, value in _config_paths(config):
        _visible(check_path(value, key), key)
    data_dir = check_path(config.workstation.data_dir, "workstation.data_dir")
    mounts = sorted(
        {
            check_path(s.target, f"sinks[{i}].target")
            for i, s in enumerate(config.sinks)
            if s.kind == "nas"
        }
    )
    if nas_dependency not in ("requires", "wants"):
        raise UnitError(f"nas_dependency: expected 'requires' or 'wants', got {nas_dependency!r}")
    classes = sorted(config_classes(config) | set(extra_classes))
    unit: list[str] = []
    if mounts and nas_dependency == "requires":
        unit.append("RequiresMountsFor=" + " ".join(map(str, mounts)))
    elif mounts:
        names = " ".join(mount_unit(m) for m in mounts)
        unit += [f"Wants={names}", f"After={names}"]
    writable = list(mounts)
    if not (data_dir == STATE_DIR or data_dir.is_relative_to(STATE_DIR)):
        writable.insert(0, data_dir)
    lines = [
        "# Rendered by `midas-edge provision` from this workstation's config; re-rendered on",
        "# every run (edit the config, not this file).",
    ]
    if unit:
        lines += ["", "[Unit]", *unit]
    lines += [
        "",
        "[Service]",
        "# Only the device classes the configured devices use.",
        "DeviceAllow=",
        *device_allow(classes).splitlines(),
    ]
    if writable:
        lines.append("ReadWritePaths=" + " ".join(map(str, writable)))
    if ip_allow:
        allowed = " ".join(["localhost", *_allow_list(ip_allow)])
        lines += ["IPAddressDeny=any", f"IPAddressAllow={allowed}"]
    return "\n".join(lines) + "\n"


def render_tmpfiles(config: Config) -> str:
    """The tmpfiles snippet: the config directory, and a data directory outside the state dir."""
    data_dir = check_path(config.workstation.data_dir, "workstation.data_dir")
    if data_dir == STATE_DIR or data_dir.is_relative_to(STATE_DIR):
        return TMPFILES
    return TMPFILES + f"d {data_dir} 0700 {SERVICE_USER} {SERVICE_GROUP} -\n"


def render_service(
    executable: PurePath | str = DEFAULT_EXECUTABLE,
    config_path: PurePath | str = CONFIG_PATH,
) -> str:
    """The base unit, running `executable run --config config_path`."""
    return SERVICE.format(
        executable=check_path(str(executable), "executable"),
        config=check_path(str(config_path), "config_path"),
    )


def render_units(
    config: Config,
    *,
    executable: PurePath | str = DEFAULT_EXECUTABLE,
    config_path: PurePath | str = CONFIG_PATH,
    extra_classes: Iterable[DeviceClass] = (),
    ip_allow: Sequence[str] = (),
    nas_dependency: NasDependency = "requires",
) -> dict[PurePosixPath, str]:
    """Every file the service needs for `config`, keyed by its absolute target path.

    `extra_classes` adds device classes the config does not show (the catalog's, for devices
    behind stable links); `ip_allow` (networks) turns on an IP allow list: loopback plus
    these, so it must cover the regional servers and the DNS servers. Raises UnitError.
    """
    return {
        UNIT_PATH: render_service(executable, config_path),
        DROPIN_PATH: render_dropin(
            config, extra_classes=extra_classes, ip_allow=ip_allow, nas_dependency=nas_dependency
        ),
        SYSUSERS_PATH: SYSUSERS,
        TMPFILES_PATH: render_tmpfiles(config),
    }


def default_files() -> dict[str, str]:
    """The repository's `systemd/` folder: the base unit and snippets for the default paths."""
    return {
        "midas-edge.service": render_service(),
        "midas-edge.sysusers.conf": SYSUSERS,
        "midas-edge.tmpfiles.conf": TMPFILES,
    }


def staged(root: Path, target: PurePosixPath) -> Path:
    """Where `target` goes under the staging directory `root` (`--root`)."""
    if not target.is_absolute() or ".." in target.parts:
        raise UnitError(f"expected an absolute target path without '..', got {target}")
    return root.joinpath(*target.parts[1:])
