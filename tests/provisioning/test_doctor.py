"""`midas-edge doctor` on a staged, provisioned workstation: healthy, then broken four ways.

A key readable by others, an unplugged scanner, a regional server that went away and a client
certificate about to expire are each found, each with the command that fixes it, and the
exit code is 1; the healthy root passes with exit code 0.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from provisioning.doctor import diagnose, render
from provisioning.selftest import CheckResult
from tests.helpers import midas_cli
from tests.provisioning.staging import WORKSTATION, Bench, bench

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="staging owners needs root")

CONFIG = "/etc/midas-edge/config.toml"
CLI_TIMEOUT_S = 60.0


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def short_lived_certificate(b: Bench, days: float) -> None:
    """Replace the workstation's certificate by one of the region CA for the same key."""
    root = b.root / "etc/midas-edge"
    key = serialization.load_pem_private_key(
        (root / "workstation-tls.key").read_bytes(), password=None
    )
    public = key.public_key()
    cert = b.region.issue_client(WORKSTATION, public, days=days)  # type: ignore[arg-type]  # an EC key, as provisioned
    (root / "workstation.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


async def doctor_cli(root: Path, *args: str) -> tuple[int, str]:
    code, out, _ = await midas_cli(
        "doctor", "--root", str(root), "--config", CONFIG, *args, timeout=CLI_TIMEOUT_S
    )
    return code, out


async def test_doctor_passes_when_healthy_and_names_a_fix_for_each_problem(
    tmp_path: Path,
) -> None:
    async with bench(tmp_path) as b:
        report = await b.provision(enroll_token=b.token())
        assert report.ok, b.outputs[-1]
        root = b.root

        healthy = await diagnose(CONFIG, root)
        assert [r for r in healthy if r.ok is False] == []
        checks = by_name(healthy)
        for name in (
            "config valid",
            "permissions /var/lib/midas-edge/workstation.key",
            "permissions /etc/midas-edge/workstation-tls.key",
            "device passport-reader present",
            "device camera present",
            "clock plausible",
            "disk headroom",
            "sink regional-server reachable",
            "clock vs regional-server",
            "certificate regional-server",
            "backlog regional-server",
            "unit installed",
            "enabled installed",
            "udev rules installed",
        ):
            assert checks[name].ok is True, (name, checks[name])
        assert checks["devices ready"].ok is None  # no daemon runs in the staged root
        out = io.StringIO()
        assert render(healthy, out, as_json=False) == 0
        assert "no problems" in out.getvalue()
        code, text = await doctor_cli(root)
        assert code == 0, text

        (root / "var/lib/midas-edge/workstation.key").chmod(0o644)
        await b.scanner.unplug()
        short_lived_certificate(b, days=10)
        await b.stop_receiver()

        broken = by_name(await diagnose(CONFIG, root))
        failed = {name for name, r in broken.items() if r.ok is False}
        assert failed == {
            "permissions /var/lib/midas-edge/workstation.key",
            "device barcode-scanner present",
            "sink regional-server reachable",
            "certificate regional-server",
        }
        key = broken["permissions /var/lib/midas-edge/workstation.key"]
        assert "mode 0o644, expected 0o600" in key.detail
        assert key.fix.startswith(f"chmod 600 {root}/var/lib/midas-edge/workstation.key")
        scanner = broken["device barcode-scanner present"]
        assert "plug barcode-scanner in" in scanner.fix and "udevadm trigger" in scanner.fix
        sink = broken["sink regional-server reachable"]
        assert "unreachable" in sink.detail and "check the network path" in sink.fix
        cert = broken["certificate regional-server"]
        assert "days" in cert.detail
        assert f"enroll-token --workstation {WORKSTATION}" in cert.fix
        assert "--enroll-token TOKEN" in cert.fix

        code, text = await doctor_cli(root, "--json")
        assert code == 1
        body = json.loads(text)
        assert body["ok"] is False
        reported = {c["name"]: c for c in body["checks"] if c["status"] == "failed"}
        assert set(reported) == failed
        assert all(c["fix"] for c in reported.values())
