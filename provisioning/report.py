"""The provisioning report: JSON for the region's files, a readable summary for the technician.

Both go into the data dir (`provision-report.json`, `provision-report.txt`, 0640) after a
real run, and the summary is printed; a dry run only prints. They hold hardware ids, versions,
steps with their changes, check results and remediation hints; never personal data.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from provisioning.changes import Change, Verdict
from provisioning.selftest import CheckResult

_PACKAGES = ("midas-edge", "pyserial", "pyusb", "opencv-python-headless", "cryptography", "aiohttp")


@dataclass
class StepResult:
    name: str
    verdict: Verdict
    summary: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "changes": [
                {"action": c.action, "target": c.target}
                | ({"detail": c.detail} if "\n" not in c.detail and c.detail else {})
                for c in self.changes
            ],
            "notes": self.notes,
            "hints": self.hints,
        }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "kernel": platform.release()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    out["platform"] = sys.platform
    return out


@dataclass
class Report:
    workstation: str
    started_at: str
    dry_run: bool
    root: str | None
    hardware: list[dict[str, Any]] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=versions)
    # How the self-test ran ("via": the running service or an in-process daemon), on what
    # ("basis", `provisioning.rerun`) and when it last passed on it ("passed_at").
    self_test: dict[str, str | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(s.verdict is not Verdict.FAILED for s in self.steps) and all(
            c.ok is not False for c in self.checks
        )

    @property
    def changed(self) -> bool:
        return any(s.changes for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workstation": self.workstation,
            "started_at": self.started_at,
            "result": "ok" if self.ok else "failed",
            "changed": self.changed,
            "dry_run": self.dry_run,
            "root": self.root,
            "versions": self.versions,
            "hardware": self.hardware,
            "steps": [s.as_dict() for s in self.steps],
            "checks": [c.as_dict() for c in self.checks],
            "self_test": self.self_test,
        }

    def to_json(self) -> bytes:
        return (json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n").encode()

    def summary(self) -> str:
        lines = [
            f"midas-edge provisioning report: workstation {self.workstation}, {self.started_at}",
            f"result: {'OK' if self.ok else 'FAILED'}"
            + (" (dry run: nothing was changed)" if self.dry_run else "")
            + ("" if self.changed or self.dry_run else " (nothing needed changing)"),
            f"versions: midas-edge {self.versions.get('midas-edge')}, python "
            f"{self.versions.get('python')}, kernel {self.versions.get('kernel')}",
            "",
            "hardware:",
        ]
        for item in self.hardware:
            ids = f"{item['vendor_id']}:{item['product_id']}" if item["vendor_id"] else "-"
            family = item["family"] or item["unsupported"] or "-"
            lines.append(f"  {item['url']}  {ids}  {item['status']}  {family}")
        if not self.hardware:
            lines.append("  (nothing found)")
        lines += ["", "steps:"]
        for step in self.steps:
            lines.append(f"  {step.name}: {step.verdict.value}, {step.summary}")
            lines += [f"    note: {n}" for n in step.notes]
        lines += ["", "checks:"]
        if self.self_test.get("via"):
            lines.append(f"  (self-test through {self.self_test['via']})")
        for check in self.checks:
            mark = {True: "passed", False: "FAILED", None: "skipped"}[check.ok]
            lines.append(f"  {mark:8} {check.name}: {check.detail}")
        if not self.checks:
            lines.append("  (none ran)")
        hints = [h for s in self.steps for h in s.hints]
        hints += [f"{c.name}: {c.fix}" for c in self.checks if c.ok is False and c.fix]
        if hints:
            lines += ["", "to fix:"] + [f"  {h}" for h in hints]
        return "\n".join(lines) + "\n"
