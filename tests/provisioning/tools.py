"""The system tools the provisioning tests check their output with, and a staged root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import pytest

from provisioning.units import staged

EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?) ")


def require(tool: str) -> str:
    """The tool's path; a skip when it is missing, a failure in CI (CI=true installs it)."""
    path = shutil.which(tool)
    if path is not None:
        return path
    why = f"{tool} is not installed (Debian: apt-get install systemd udev)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}, and CI must run this check")
    pytest.skip(why)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def stage(root: Path, files: Mapping[PurePosixPath, str]) -> dict[PurePosixPath, Path]:
    """Write rendered files under `root` as provisioning's --root does; where each went."""
    out = {}
    for target, text in files.items():
        path = staged(root, target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        out[target] = path
    return out


def fake_executable(directory: Path) -> Path:
    """An executable for ExecStart= (`systemd-analyze verify` checks that it exists)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "midas-edge"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def exposure(unit_file: Path) -> tuple[float, str]:
    """`systemd-analyze security --offline=yes` on a unit file: (overall exposure, report)."""
    result = run(require("systemd-analyze"), "security", "--offline=yes", str(unit_file))
    report = result.stdout + result.stderr
    found = EXPOSURE.search(report)
    assert found is not None, report
    return float(found.group(1)), report
