"""Install the service: account, directories, units, udev rules, and enable it.

The account comes from the sysusers snippet through `systemd-sysusers` (`--root=DIR` when
staging), so a staged image and a workstation get the same one. Units come from
`provisioning.units`, the rules from `provisioning.udev` for every confirmed device with a
node of ours. `systemctl --root=DIR enable` works offline; on a running system the units and
rules are reloaded (`systemctl daemon-reload`, `udevadm control --reload`, `udevadm trigger`)
when they changed, never when staging.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from edge.config import Config
from provisioning.changes import Applier
from provisioning.discover import Found
from provisioning.errors import ProvisioningError, RuleError, UnitError
from provisioning.settings import Settings
from provisioning.system import SERVICE_GROUP, SERVICE_USER, UNIT_NAME, DeviceClass
from provisioning.udev import RULES_PATH, DeviceRule, render_udev, rule_for
from provisioning.units import SYSUSERS_PATH, UNIT_DIR, NasDependency, render_units

WANTS_LINK = UNIT_DIR / "multi-user.target.wants" / UNIT_NAME
SYSTEMD_RUNNING = Path("/run/systemd/system")
DATA_DIR_MODE = 0o700
FILE_MODE = 0o644


@dataclass
class InstallResult:
    summary: str
    notes: list[str] = field(default_factory=list)


def device_rules(config: Config, found: list[Found]) -> tuple[list[DeviceRule], list[str]]:
    """A udev rule for each configured device discovery confirmed with a node; notes."""
    by_url = {f.url: f for f in found if f.usable}
    rules: list[DeviceRule] = []
    notes = []
    for device in config.devices:
        item = by_url.get(device.url)
        if item is None or item.entry is None or item.entry.node is None or item.ids is None:
            continue
        try:
            rule = rule_for(
                device.name, item.entry, item.ids.vendor_id, item.ids.product_id, item.ids.serial
            )
        except RuleError as exc:
            notes.append(f"no udev rule for {device.name}: {exc}")
            continue
        if any(rule.overlaps(other) for other in rules):
            notes.append(
                f"no udev rule for {device.name}: another device has the same ids and no serial"
            )
            continue
        rules.append(rule)
    return rules, notes


def _classes(found: list[Found]) -> set[DeviceClass]:
    return {
        f.entry.node for f in found if f.usable and f.entry is not None and f.entry.node is not None
    }


def _sysusers(applier: Applier) -> None:
    if applier.accounts.has_user(SERVICE_USER):
        return
    tool = shutil.which("systemd-sysusers")
    if tool is None and not applier.dry_run:
        raise ProvisioningError(
            "systemd-sysusers is missing: the service account cannot be created "
            "(apt-get install systemd)"
        )
    argv = [tool or "systemd-sysusers"]
    if applier.root is not None:
        argv.append(f"--root={applier.root}")
    argv.append(str(applier.path(SYSUSERS_PATH)))
    applier.run(argv, f"create the {SERVICE_USER} account")


def _enable(applier: Applier) -> None:
    if applier.path(WANTS_LINK).is_symlink():
        return
    argv = ["systemctl"]
    if applier.root is not None:
        argv.append(f"--root={applier.root}")
    applier.run([*argv, "enable", UNIT_NAME], "start the service at boot")


def install(
    settings: Settings, config: Config, found: list[Found], applier: Applier
) -> InstallResult:
    """Everything the service needs on the system; changes go through `applier`."""
    dependency: NasDependency = "wants" if settings.nas_dependency == "wants" else "requires"
    try:
        files = render_units(
            config,
            executable=settings.executable,
            config_path=settings.config_path,
            extra_classes=_classes(found),
            ip_allow=settings.ip_allow,
            nas_dependency=dependency,
        )
    except UnitError as exc:
        raise ProvisioningError(f"the units cannot be rendered: {exc}") from None
    rules, notes = device_rules(config, found)
    before = len(applier.changes)
    applier.write(SYSUSERS_PATH, files.pop(SYSUSERS_PATH).encode(), mode=FILE_MODE)
    _sysusers(applier)
    applier.settle_owners()
    service = (SERVICE_USER, SERVICE_GROUP)
    applier.directory(PurePosixPath(config.workstation.data_dir), mode=DATA_DIR_MODE, owner=service)
    units_before = len(applier.changes)
    for target, text in sorted(files.items()):
        applier.write(target, text.encode(), mode=FILE_MODE)
    units_changed = len(applier.changes) > units_before
    rules_before = len(applier.changes)
    for target, text in render_udev(rules).items():
        applier.write(target, text.encode(), mode=FILE_MODE)
    rules_changed = len(applier.changes) > rules_before
    _enable(applier)
    if applier.root is None and SYSTEMD_RUNNING.is_dir():
        if units_changed:
            applier.run(["systemctl", "daemon-reload"], "load the new units")
        if rules_changed:
            applier.run(["udevadm", "control", "--reload"], "load the new rules")
            applier.run(["udevadm", "trigger", "--action=add"], "apply them to plugged devices")
    elif applier.root is None and (units_changed or rules_changed):
        notes.append("systemd is not running: units and rules take effect at the next boot")
    changed = len(applier.changes) > before
    linked = ", ".join(r.name for r in rules) or "none"
    state = "installed" if changed else "already installed"
    return InstallResult(f"{state}; udev links for: {linked}; {RULES_PATH.name}", notes)
