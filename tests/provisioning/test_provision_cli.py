"""`midas-edge provision` as a technician's script runs it: an answers file, no questions."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from drivers.access.sim import AccessStxSim
from tests.helpers import midas_cli
from tests.provisioning.staging import PASSPORT_LINK, node, snapshot, usb_device

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="staging owners needs root")
CLI_TIMEOUT_S = 90.0


async def provision_cli(*args: str) -> tuple[int, str]:
    code, out, err = await midas_cli("provision", *args, timeout=CLI_TIMEOUT_S)
    return code, out + err


async def test_scripted_dry_run_then_run_with_an_answers_file(tmp_path: Path) -> None:
    root = tmp_path / "root"
    intf = usb_device(
        root,
        "1-1",
        ("0db5", "0139"),
        serial="A1B2",
        product="Access ATOM",
        interface=(2, 1),
        driver="cdc_acm",
    )
    link = node(root, "tty", "ttyACM0", intf, "serial/by-id", PASSPORT_LINK)
    answers = tmp_path / "answers.toml"
    answers.write_text('workstation = "bz-cli-01"\n[nas]\ntarget = "/mnt/regional-nas"\n')
    common = ["--root", str(root), "--answers", str(answers), "--non-interactive"]
    async with AccessStxSim(link=link):
        before = snapshot(root)
        code, out = await provision_cli(*common, "--dry-run")
        assert code == 0, out
        assert snapshot(root) == before
        assert "would write /etc/midas-edge/config.toml" in out
        assert "would run" in out and "systemd-sysusers" in out
        assert "dry run: nothing was changed" in out

        # No share is mounted here, so the NAS sink could not take the self-test's record: the
        # self-test is left to the end-to-end test (test_provision.py), whose region answers.
        code, out = await provision_cli(*common, "--no-selftest")
        assert code == 0, out
        config = tomllib.loads((root / "etc/midas-edge/config.toml").read_text())
        assert config["workstation"]["id"] == "bz-cli-01"
        assert config["devices"] == [
            {
                "name": "passport-reader",
                "driver": "access-stx",
                "url": f"/dev/serial/by-id/{PASSPORT_LINK}",
            }
        ]
        assert config["sinks"][0]["target"] == "/mnt/regional-nas"
        dropin = root / "etc/systemd/system/midas-edge.service.d/50-workstation.conf"
        assert "RequiresMountsFor=/mnt/regional-nas" in dropin.read_text()
        assert (root / "var/lib/midas-edge/provision-report.json").exists()

        code, out = await provision_cli(*common, "--no-selftest")
        assert code == 0, out
        assert "nothing needed changing" in out
