"""A self-test the daemon fails is a failed step with a report, never a traceback.

The daemon's own errors (here: a store that refuses the test record because the disk has no
headroom) become a failed check; the report is written, and what the daemon created as root
is given to the service account all the same.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from provisioning.changes import Accounts, Verdict
from provisioning.provision import Machine, provision
from provisioning.settings import Settings
from provisioning.ui import Console

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="staging owners needs root")


async def test_a_store_that_refuses_the_test_record_fails_the_step_not_the_run(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    config = root / "etc/midas-edge/config.toml"
    config.parent.mkdir(parents=True)
    # Kept by provisioning (a section it does not manage): no disk can give that headroom.
    config.write_text('[workstation]\nid = "bz-full-01"\n\n[storage]\nmin_free = "1000TiB"\n')
    settings = Settings(workstation="bz-full-01", root=root, nas_target="/mnt/regional-nas")
    out = io.StringIO()
    report = await provision(settings, Console(out), Machine())
    steps = {s.name: s for s in report.steps}
    assert steps["self-test"].verdict is Verdict.FAILED, out.getvalue()
    assert steps["self-test"].summary == "failed: test record stored"
    stored = next(c for c in report.checks if c.name == "test record stored")
    assert stored.detail.startswith("refused: ") and "doctor" in stored.fix
    assert not report.ok
    data = root / "var/lib/midas-edge"
    saved = json.loads((data / "provision-report.json").read_text())
    assert saved["result"] == "failed"
    assert saved["self_test"]["passed_at"] is None
    ids = Accounts(root).ids(("midas-edge", "midas-edge"))
    assert ids is not None
    for name in ("records.db", "api-token", "workstation.key"):
        st = (data / name).stat()
        assert (st.st_uid, st.st_gid) == ids, name
