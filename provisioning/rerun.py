"""Whether the self-test has to run again: what it tested, and whether any of it changed since.

A self-test depends on the config, the units and udev rules, the workstation's certificate,
the region CA and the enrollment, the chain key's public half and the midas-edge version. The
report keeps their SHA-256 (`self_test.basis`) and when a self-test last passed on them
(`self_test.passed_at`). With `--self-test changed` (the default) a run whose basis is the
one of the last report, whose self-test passed, skips it: a second run adds no record and
rewrites no snapshot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from agent.chain import PUBLIC_FILE
from provisioning.changes import Applier
from provisioning.errors import ProvisioningError
from provisioning.identity import ENROLLMENT
from provisioning.safefile import read_file
from provisioning.settings import Settings
from provisioning.system import REGION_CA, REPORT_JSON, TLS_CERT
from provisioning.udev import RULES_PATH
from provisioning.units import DROPIN_PATH, UNIT_PATH


@dataclass(frozen=True, slots=True)
class LastTest:
    """The self-test the last report recorded as passed."""

    basis: str
    passed_at: str


def basis(applier: Applier, settings: Settings, version: str) -> str:
    """The SHA-256 of everything a self-test depends on (module docstring)."""
    targets = (
        PurePosixPath(settings.config_path),
        UNIT_PATH,
        DROPIN_PATH,
        RULES_PATH,
        TLS_CERT,
        REGION_CA,
        ENROLLMENT,
        PurePosixPath(settings.data_dir) / PUBLIC_FILE,
    )
    digest = hashlib.sha256(f"midas-edge {version}\n".encode())
    for target in targets:
        try:
            data = read_file(applier.path(target))
        except (OSError, ProvisioningError):  # unreadable, or a link: never the same as before
            data = b"\x00unreadable"
        digest.update(f"{target} {-1 if data is None else len(data)}\n".encode())
        digest.update(data or b"")
    return digest.hexdigest()


def last_passed(data_dir: Path) -> LastTest | None:
    """What the last report says of a passed self-test, None when it says none passed."""
    try:
        raw = read_file(data_dir / REPORT_JSON)
        report: Any = json.loads(raw) if raw is not None else None
    except (OSError, ValueError, ProvisioningError):
        return None
    test = report.get("self_test") if isinstance(report, dict) else None
    if not isinstance(test, dict):
        return None
    found, passed_at = test.get("basis"), test.get("passed_at")
    if isinstance(found, str) and isinstance(passed_at, str) and found and passed_at:
        return LastTest(found, passed_at)
    return None
