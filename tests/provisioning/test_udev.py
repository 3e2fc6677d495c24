"""udev rules: parsed clean by udevadm and by a strict checker; every bad value refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioning.catalog import Catalog
from provisioning.errors import RuleError
from provisioning.system import DeviceClass
from provisioning.udev import RULES_PATH, DeviceRule, render_rules, render_udev, rule_for
from tests.provisioning.rulecheck import check_rules, logical_lines, udevadm_diagnostics


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def workstation_rules(catalog: Catalog) -> list[DeviceRule]:
    """A border workstation: every kind of node, two identical scanners told apart by serial."""
    return [
        rule_for("passport", catalog.get("access-is-cdc"), "0db5", "0139"),
        rule_for("rs232-reader", catalog.get("usb-serial-adapter"), 0x0403, 0x6001, "FT1ABC"),
        rule_for("scanner-left", catalog.get("honeywell-keyboard"), "0C2E", "0B61", "21084B0123"),
        rule_for("scanner-right", catalog.get("honeywell-keyboard"), "0c2e", "0b61", "21084B0456"),
        rule_for("seal-reader", catalog.get("honeywell-hidpos"), 0x0C2E, 0x0B87),
        rule_for("portrait-cam", catalog.get("uvc-camera"), "046d", "0825", "8C3A1F2E"),
        DeviceRule("seal-reader-raw", DeviceClass.HIDRAW, "0c2e", "0b87"),
    ]


def rules_by_name(text: str) -> dict[str, str]:
    """Each rule (continuations joined) by the device name in the comment above it."""
    out = {}
    for block in text.split("\n\n")[1:]:  # the header first
        comment, _, rule = block.partition("\n")
        [(_, joined)] = logical_lines(rule)
        out[comment.removeprefix("# ")] = joined
    return out


def test_rendered_rules_are_clean_for_udevadm_and_the_strict_checker(
    catalog: Catalog, tmp_path: Path
) -> None:
    text = render_rules(workstation_rules(catalog))
    assert check_rules(text) == []
    assert udevadm_diagnostics(text, tmp_path) == []


def test_udevadm_reports_a_broken_rule(catalog: Catalog, tmp_path: Path) -> None:
    text = render_rules(workstation_rules(catalog)) + 'SUBSYSTEM=="tty", NOSUCHKEY=="x"\n'
    diagnostics = udevadm_diagnostics(text, tmp_path)
    assert len(diagnostics) == 1
    assert "Invalid key" in diagnostics[0]


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ('SUBSYSTEM=="tty", ATTRS{idVendor}=="0db5 GROUP="x"', "not a key, operator"),
        ('SUBSYSTEM=="tty", MODE="9999"', "bad value for MODE"),
        ('SUBSYSTEM=="tty", SYMLINK+="midas-edge/a b"', "bad value for SYMLINK"),
        ('SUBSYSTEM=="tty", SYMLINK+="midas-edge/%k"', "not a key, operator"),
        ('SUBSYSTEM=="tty", ATTRS{idVendor}=="0DB5"', "bad value for ATTRS"),
        ('SUBSYSTEM=="tty", GROUP=="midas-edge"', "GROUP cannot be matched"),
        ('SUBSYSTEM=="tty", RUN+="/bin/sh"', "RUN+= is not an assignment"),
        ('SUBSYSTEM=="input", ATTRS{idVendor}=="0c2e"', "no {idProduct}=="),
        ('SUBSYSTEM=="tty", ATTRS{idVendor}=="0c2e", \\', "continued past the end"),
    ],
)
def test_the_strict_checker_refuses_what_our_rules_never_hold(rule: str, problem: str) -> None:
    assert any(problem in p for p in check_rules(rule + "\n"))


def test_each_node_class_gets_its_own_selection_and_assignments(catalog: Catalog) -> None:
    rules = rules_by_name(render_rules(workstation_rules(catalog)))
    passport = rules["passport"]
    assert passport.startswith(
        'SUBSYSTEM=="tty", KERNEL=="ttyACM[0-9]*", ATTRS{idVendor}=="0db5", '
        'ATTRS{idProduct}=="0139", SYMLINK+="midas-edge/passport", GROUP="midas-edge", '
        'MODE="0660", TAG+="systemd"'
    )
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1", ENV{ID_MM_PORT_IGNORE}="1"' in passport
    assert 'KERNEL=="ttyUSB[0-9]*"' in rules["rs232-reader"]
    assert 'ATTRS{serial}=="FT1ABC"' in rules["rs232-reader"]
    left, right = rules["scanner-left"], rules["scanner-right"]
    assert 'KERNEL=="event[0-9]*", ENV{ID_INPUT_KEYBOARD}=="1"' in left
    assert 'ATTRS{idVendor}=="0c2e", ATTRS{idProduct}=="0b61"' in left  # ids normalized
    assert 'ATTRS{serial}=="21084B0123"' in left and 'ATTRS{serial}=="21084B0456"' in right
    seal = rules["seal-reader"]
    assert 'SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="0c2e"' in seal
    assert 'ATTR{index}=="0"' in rules["portrait-cam"]
    assert rules["seal-reader-raw"].startswith('SUBSYSTEM=="hidraw", ATTRS{idVendor}=="0c2e"')
    assert all("ID_MM_DEVICE_IGNORE" not in rules[n] for n in ("seal-reader", "portrait-cam"))
    assert render_udev(workstation_rules(catalog)) == {
        RULES_PATH: render_rules(workstation_rules(catalog))
    }


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DeviceRule("a", DeviceClass.TTY_ACM, "0x0db5", "0139"), "vendor_id: expected"),
        (lambda: DeviceRule("a", DeviceClass.TTY_ACM, "0db5", "01390"), "product_id: expected"),
        (lambda: DeviceRule("a", DeviceClass.TTY_ACM, "0db5", "0139", 'x"y'), "serial: expected"),
        (lambda: DeviceRule("a", DeviceClass.TTY_ACM, "0db5", "0139", "A B"), "serial: expected"),
        (lambda: DeviceRule("a", DeviceClass.TTY_ACM, "0db5", "0139", "%k"), "serial: expected"),
        (lambda: DeviceRule("a", DeviceClass.TTY_ACM, "0db5", "0139", ""), "serial: expected"),
        (lambda: DeviceRule("../x", DeviceClass.TTY_ACM, "0db5", "0139"), "name: expected"),
        (lambda: DeviceRule("a b", DeviceClass.VIDEO, "0db5", "0139"), "name: expected"),
        (lambda: DeviceRule("com1", DeviceClass.TTY_S, "0db5", "0139"), "no USB ids"),
    ],
)
def test_bad_values_never_reach_a_rule(make: object, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        make()  # type: ignore[operator]  # each case is a zero-argument factory


def test_clashing_devices_and_bad_groups_are_refused(catalog: Catalog) -> None:
    scanner = catalog.get("honeywell-keyboard")
    a = rule_for("a", scanner, "0c2e", "0b61")
    with pytest.raises(RuleError, match="give each device its serial"):
        render_rules([a, rule_for("b", scanner, "0c2e", "0b61")])
    with pytest.raises(RuleError, match="give each device its serial"):
        render_rules([a, rule_for("b", scanner, "0c2e", "0b61", "S2")])
    with pytest.raises(RuleError, match="two devices with one name"):
        render_rules([a, rule_for("a", catalog.get("access-is-cdc"), "0db5", "0139")])
    with pytest.raises(RuleError, match="group"):
        render_rules([a], group="Midas Edge")
    # Same ids on different kinds of node (a composite device) do not clash.
    hidraw = DeviceRule("a-raw", DeviceClass.HIDRAW, "0c2e", "0b61")
    assert check_rules(render_rules([a, hidraw])) == []
    with pytest.raises(RuleError, match="no node of ours"):
        rule_for("chip", catalog.get("omnikey"), "076b", "5422")
    with pytest.raises(RuleError, match="4 hex digits"):
        rule_for("cam", catalog.get("uvc-camera"), 0x10000, 1)
