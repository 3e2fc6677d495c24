"""A strict checker of the udev rule dialect midas-edge writes, and udevadm's own parser.

udevadm 252 has no `verify` (253 added it) and `udevadm test` on a real device applies the
rules' permissions and links to the host. So the rules are checked twice: by this checker,
which knows every key and value our rules may hold and refuses anything else, and by
udevadm's real parser in a private mount namespace where /etc/udev/rules.d holds only the
file under test, run against a device that does not exist (it parses, reports, and stops).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.provisioning.tools import require

RULES_NAME = "70-midas-edge.rules"
_PAIR = re.compile(
    r'(?P<key>[A-Z]+)(?:\{(?P<attr>[A-Za-z0-9_]+)\})?(?P<op>==|!=|\+=|=)"(?P<value>[^"\\$%]*)"'
)
_MATCH_KEYS = {"SUBSYSTEM", "KERNEL", "ATTR", "ATTRS", "ENV"}
_ASSIGN_KEYS = {"SYMLINK": "+=", "GROUP": "=", "MODE": "=", "TAG": "+=", "ENV": "="}
_VALUES = {
    ("ATTR", "idVendor"): re.compile(r"^[0-9a-f]{4}$"),
    ("ATTRS", "idVendor"): re.compile(r"^[0-9a-f]{4}$"),
    ("ATTR", "idProduct"): re.compile(r"^[0-9a-f]{4}$"),
    ("ATTRS", "idProduct"): re.compile(r"^[0-9a-f]{4}$"),
    ("ATTR", "serial"): re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"),
    ("ATTRS", "serial"): re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"),
    ("MODE", None): re.compile(r"^0[0-7]{3}$"),
    ("GROUP", None): re.compile(r"^[a-z_][a-z0-9_-]{0,31}$"),
    ("SYMLINK", None): re.compile(r"^midas-edge/[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"),
    ("KERNEL", None): re.compile(r"^[A-Za-z0-9*?\[\]-]+$"),
    ("SUBSYSTEM", None): re.compile(r"^[a-z0-9_]+$"),
    ("TAG", None): re.compile(r"^systemd$"),
}
_REQUIRED = ("SUBSYSTEM==", "{idVendor}==", "{idProduct}==", "SYMLINK+=", "GROUP=", "MODE=")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, rule) with continuations joined; comments and blanks dropped."""
    out: list[tuple[int, str]] = []
    start, buffer = 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        part = line.lstrip() if buffer else line
        if part.endswith("\\"):
            buffer += part[:-1]
            continue
        rule, buffer = buffer + part, ""
        if rule.strip() and not rule.lstrip().startswith("#"):
            out.append((start, rule))
    if buffer:
        out.append((start, buffer + " <continued past the end>"))
    return out


def check_rules(text: str) -> list[str]:
    """Every problem of the rules text, as 'line N: what'; empty when it is clean."""
    problems: list[str] = []
    links: dict[str, int] = {}
    for number, rule in logical_lines(text):
        pairs = rule.split(", ")
        seen: list[str] = []
        for pair in pairs:
            m = _PAIR.fullmatch(pair)
            if m is None:
                problems.append(f"line {number}: not a key, operator and quoted value: {pair!r}")
                continue
            key, attr, op, value = m["key"], m["attr"], m["op"], m["value"]
            seen.append(f"{key}{{{attr}}}{op}" if attr else f"{key}{op}")
            if op in ("==", "!="):
                if key not in _MATCH_KEYS:
                    problems.append(f"line {number}: {key} cannot be matched")
            elif _ASSIGN_KEYS.get(key) != op:
                problems.append(f"line {number}: {key}{op} is not an assignment our rules make")
            if (key in ("ATTR", "ATTRS", "ENV")) != (attr is not None):
                problems.append(f"line {number}: {key} with a wrong {{attribute}} part")
            pattern = _VALUES.get((key, attr))
            if pattern is not None and not pattern.match(value):
                problems.append(f"line {number}: bad value for {key}: {value!r}")
            if key == "SYMLINK":
                if value in links:
                    problems.append(f"line {number}: link {value} also made on line {links[value]}")
                links[value] = number
        joined = " ".join(seen)
        for need in _REQUIRED:
            if need not in joined:
                problems.append(f"line {number}: no {need}")
        if 'SUBSYSTEM=="tty"' in rule and 'ENV{ID_MM_DEVICE_IGNORE}="1"' not in rule:
            problems.append(f"line {number}: a serial port ModemManager would probe")
    return problems


_SCRIPT = (
    "for d in /usr/lib/udev/rules.d /lib/udev/rules.d /usr/local/lib/udev/rules.d "
    '/run/udev/rules.d; do if [ -d "$d" ]; then mount --bind "$2" "$d" || exit 97; fi; done; '
    'mount --bind "$1" /etc/udev/rules.d || exit 97; '
    'exec "$3" test --resolve-names=late --action=add /sys/devices/midas-edge-absent-device'
)


def udevadm_diagnostics(text: str, tmp_path: Path) -> list[str]:
    """What udevadm's rule parser says about `text` (as 70-midas-edge.rules), line by line."""
    udevadm = require("udevadm")
    unshare = shutil.which("unshare")
    if unshare is None or not Path("/etc/udev/rules.d").is_dir():
        pytest.skip("unshare (util-linux) or /etc/udev/rules.d is missing")
    rules, empty = tmp_path / "rules.d", tmp_path / "empty"
    rules.mkdir()
    empty.mkdir()
    (rules / RULES_NAME).write_text(text)
    target = f"/etc/udev/rules.d/{RULES_NAME}"
    attempts = []
    for namespace in (("--user", "--map-root-user", "--mount"), ("--mount",)):
        result = subprocess.run(
            [unshare, *namespace, "sh", "-c", _SCRIPT, "sh", str(rules), str(empty), udevadm],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        output = result.stdout + result.stderr
        if f"Reading rules file: {target}" in output:
            return [
                line
                for line in output.splitlines()
                if target in line and not line.startswith("Reading rules file:")
            ]
        attempts.append(output.strip().splitlines()[-1:] or [f"exit {result.returncode}"])
    pytest.skip(f"no private mount namespace for udevadm here: {attempts}")
