"""`midas-edge provision` asking a technician: defaults taken, a device declined, a barcode
presented when asked, the document skipped, the camera snapshot confirmed."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tomllib
from pathlib import Path

import pytest

from drivers.barcode.sim import BarcodeCdcSim
from drivers.hidpos.fakeusb import fake_bus
from provisioning.changes import Verdict
from provisioning.provision import Machine, provision
from provisioning.ui import Console
from tests.provisioning.staging import WORKSTATION, bench

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="staging owners needs root")
PRESENT_TIMEOUT_S = 30.0
BARCODE = "MIDAS-TEST-SCAN-0001"


class Technician:
    """Answers each question from the last line the console printed; presents when asked."""

    def __init__(self, out: io.StringIO, scanner: BarcodeCdcSim) -> None:
        self.out = out
        self.scanner = scanner
        self.loop = asyncio.get_running_loop()
        self.asked: list[str] = []
        self.seen = 0

    def readline(self) -> str:
        # No terminal echoes the answers: the question is what was printed since the last one.
        text = self.out.getvalue()
        prompt, self.seen = text[self.seen :].rsplit("\n", 1)[-1], len(text)
        self.asked.append(prompt)
        if "present a barcode" in prompt:
            done = asyncio.run_coroutine_threadsafe(self.scanner.present(BARCODE), self.loop)
            done.result(PRESENT_TIMEOUT_S)
            return "\n"
        if "present a passport" in prompt:
            return "s\n"
        if prompt.startswith("? use usb://"):
            return "n\n"
        if prompt.startswith("? use ") or "show the counter" in prompt:
            return "y\n"
        return "\n"  # every other question: its default


async def test_interactive_run_asks_presents_and_confirms(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        out = io.StringIO()
        technician = Technician(out, b.scanner)
        settings = b.settings(enroll_token=b.token(), interactive=True)
        report = await provision(
            settings, Console(out, technician, interactive=True), Machine(usb_backend=fake_bus())
        )
        assert report.ok, out.getvalue()
        assert technician.asked[0] == f"? workstation id [{WORKSTATION}]: "
        assert "? enrollment token [given, Enter keeps it]: " in technician.asked
        token = settings.enroll_token
        assert token is not None and token not in out.getvalue()
        assert any(q.startswith("? use usb://0c2e:0b87") for q in technician.asked)
        config = tomllib.loads((b.root / "etc/midas-edge/config.toml").read_text())
        assert [d["name"] for d in config["devices"]] == [
            "passport-reader",
            "barcode-scanner",
            "camera",
        ]  # the declined HID POS scanner is left out
        checks = {c.name: c for c in report.checks}
        assert checks["document presented"].ok is None
        assert checks["barcode presented"].ok is True
        picture = checks["camera camera picture"]
        assert picture.ok is True
        assert (b.root / "var/lib/midas-edge/selftest-camera.jpg").read_bytes()[:2] == b"\xff\xd8"
        assert {s.name: s.verdict for s in report.steps}["self-test"] is Verdict.OK
        page = await b.storage.records(WORKSTATION, 0, 10)
        sources = sorted(json.loads(r.body)["device"]["name"] for r in page.records)
        assert sources == ["barcode-scanner", "selftest"]  # the presented barcode arrived too
