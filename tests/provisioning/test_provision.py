"""`midas-edge provision` end to end under --root: simulated devices, a real region on loopback.

Discovery finds the staged devices and their drivers confirm them, the config names them by
their stable links, enrollment gets a certificate and registers the chain key, the self-test's
record reaches the regional receiver over mutual TLS, the install step stages the account,
units, rules and the enabled service; a second run changes nothing and says so; a dry run
shows changes and makes none.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from provisioning.changes import Accounts, Verdict
from tests.provisioning.staging import (
    CAMERA_LINK,
    HIDPOS_SERIAL,
    PASSPORT_LINK,
    SCANNER_LINK,
    WORKSTATION,
    bench,
    snapshot,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="staging owners needs root")

# What a second run rewrites: its own report (keys, store, config and units stay as they are).
RUN_OUTPUTS = ("var/lib/midas-edge/provision-report.",)


def staged_config(root: Path) -> dict[str, Any]:
    return tomllib.loads((root / "etc/midas-edge/config.toml").read_text())


async def test_provision_discovers_enrolls_installs_and_self_tests(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        report = await b.provision(enroll_token=b.token())
        out = b.outputs[-1]
        assert report.ok, out
        root = b.root
        # Discovery: each staged device matched and confirmed by its driver.
        confirmed = {h["url"]: (h["family"], h["confirmed_by"]) for h in report.hardware}
        assert confirmed == {
            f"/dev/serial/by-id/{PASSPORT_LINK}": ("access-stx", "answers"),
            f"/dev/serial/by-id/{SCANNER_LINK}": ("barcode-serial", "answers"),
            f"/dev/v4l/by-id/{CAMERA_LINK}": ("camera", "opens"),
            f"usb://0c2e:0b87?serial={HIDPOS_SERIAL}": ("barcode-hidpos", "answers"),
        }
        # Config: devices by stable path, the regional sink with the enrolled identity.
        config = staged_config(root)
        devices = {d["name"]: (d["driver"], d["url"]) for d in config["devices"]}
        assert devices == {
            "passport-reader": ("access-stx", f"/dev/serial/by-id/{PASSPORT_LINK}"),
            "barcode-scanner": ("barcode-serial", f"/dev/serial/by-id/{SCANNER_LINK}"),
            "camera": ("camera", f"/dev/v4l/by-id/{CAMERA_LINK}"),
            "barcode-scanner-2": ("barcode-hidpos", f"usb://0c2e:0b87?serial={HIDPOS_SERIAL}"),
        }
        [sink] = config["sinks"]
        assert sink["target"] == b.url + "/"
        assert sink["cert"] == "/etc/midas-edge/workstation.crt"
        # Enrollment: a certificate of the region CA for this workstation; its chain key trusted.
        cert = x509.load_pem_x509_certificate(
            (root / "etc/midas-edge/workstation.crt").read_bytes()
        )
        cert.verify_directly_issued_by(b.region.ca_cert)
        assert cert.subject.rfc4514_string() == f"CN={WORKSTATION}"
        data = root / "var/lib/midas-edge"
        assert (b.region.trust_dir / f"{WORKSTATION}.pem").read_bytes() == (
            data / "workstation.pub"
        ).read_bytes()
        # The self-test's record went through the real daemon to the receiver, over mTLS.
        checks = {c.name: c.ok for c in report.checks}
        assert checks["daemon starts"] is True
        for name in ("passport-reader", "barcode-scanner", "camera", "barcode-scanner-2"):
            assert checks[f"device {name} ready"] is True
        assert checks["test record reached regional-server"] is True
        assert checks["documents and barcodes presented"] is None  # non-interactive
        page = await b.storage.records(WORKSTATION, 0, 10)
        assert [r.seq for r in page.records] == [1]
        assert json.loads(page.records[0].body)["device"]["name"] == "selftest"
        # Install: account, owners and modes, units, rules for every device node, enabled.
        uid, gid = Accounts(root).ids(("midas-edge", "midas-edge")) or (-1, -1)
        assert uid > 0
        for rel, mode, owner in (
            ("var/lib/midas-edge", 0o700, uid),
            ("var/lib/midas-edge/workstation.key", 0o600, uid),
            ("etc/midas-edge/workstation-tls.key", 0o600, uid),
            ("etc/midas-edge/config.toml", 0o640, 0),
            ("etc/midas-edge", 0o750, 0),
        ):
            st = (root / rel).stat()
            assert (stat.S_IMODE(st.st_mode), st.st_uid) == (mode, owner), rel
        assert (root / "etc/midas-edge").stat().st_gid == gid
        assert (root / "etc/systemd/system/multi-user.target.wants/midas-edge.service").is_symlink()
        rules = (root / "etc/udev/rules.d/70-midas-edge.rules").read_text()
        for name in ("passport-reader", "barcode-scanner", "camera", "barcode-scanner-2"):
            assert f'SYMLINK+="midas-edge/{name}"' in rules
        dropin = (root / "etc/systemd/system/midas-edge.service.d/50-workstation.conf").read_text()
        assert "DeviceAllow=char-ttyACM rw" in dropin and "char-usb_device" in dropin
        # The report, in the data dir.
        saved = json.loads((data / "provision-report.json").read_text())
        assert saved["result"] == "ok" and saved["workstation"] == WORKSTATION
        assert saved["self_test"]["via"] == "a daemon started by provisioning"
        assert saved["self_test"]["passed_at"] == report.started_at
        assert len(saved["hardware"]) == 4
        text = (data / "provision-report.txt").read_text()
        assert "result: OK" in text and "test record reached regional-server" in text

        # A second run (no token needed any more, the self-test at its default) changes
        # nothing and says so: the self-test is not run again, no record is added.
        before = snapshot(root, RUN_OUTPUTS)
        again = await b.provision()
        assert again.ok, b.outputs[-1]
        assert not again.changed
        assert {s.name: s.verdict for s in again.steps} == {
            "discover": Verdict.OK,
            "configure": Verdict.OK,
            "install": Verdict.OK,
            "identity": Verdict.OK,
            "service": Verdict.SKIPPED,
            "self-test": Verdict.SKIPPED,
        }
        skipped = next(s for s in again.steps if s.name == "self-test")
        assert skipped.summary == (f"nothing changed since {report.started_at}, when it passed")
        assert "nothing needed changing" in b.outputs[-1]
        assert snapshot(root, RUN_OUTPUTS) == before
        assert [r.seq for r in (await b.storage.records(WORKSTATION, 0, 10)).records] == [1]
        assert json.loads((data / "provision-report.json").read_text())["self_test"] == {
            "via": None,
            "basis": saved["self_test"]["basis"],
            "passed_at": report.started_at,
        }

        # Something the self-test depends on changes: it runs again.
        config_path = root / "etc/midas-edge/config.toml"
        config_path.write_text(config_path.read_text() + "\n[retention]\ndelivered_days = 9.0\n")
        changed = await b.provision()
        assert changed.ok, b.outputs[-1]
        assert {s.name: s.verdict for s in changed.steps}["self-test"] is Verdict.OK
        assert [r.seq for r in (await b.storage.records(WORKSTATION, 0, 10)).records] == [1, 2]

        # A dry run with another NAS setting shows the config diff and writes nothing.
        everything = snapshot(root)
        dry = await b.provision(dry_run=True, nas_target="/mnt/regional-nas")
        assert snapshot(root) == everything
        configure = next(s for s in dry.steps if s.name == "configure")
        assert configure.verdict is Verdict.CHANGED
        assert any(
            c.action == "write" and '+target = "/mnt/regional-nas"' in c.detail
            for c in configure.changes
        )
        assert "would write /etc/midas-edge/config.toml" in b.outputs[-1]
        assert "would backup" in b.outputs[-1]
