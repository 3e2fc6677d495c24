"""`midas-edge doctor` turns every failure into a failed check with a fix, never a traceback.

A technician who is not root may not look into the service's data dir, a server may
send a Date header that is no date, retention may remove a blob while the doctor counts the
store: each is reported, and the other checks still run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from edge.config import from_mapping
from edge.store.store import DB_NAME
from provisioning import doctor_checks as checks
from provisioning.doctor import enabled_fix
from tests.provisioning.tools import require

OTHER = 4242  # the service account's uid: the data dir is its own
CONFIG = "/etc/midas-edge/config.toml"
CLI_TIMEOUT_S = 60.0
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="drops root's file access rights")


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    """A staged root whose data dir (0700) and config belong to another account."""
    root = tmp_path / "root"
    (root / "etc/midas-edge").mkdir(parents=True)
    config = root / "etc/midas-edge/config.toml"
    config.write_text('[workstation]\nid = "bz-doc-01"\ndata_dir = "/var/lib/midas-edge"\n')
    data = root / "var/lib/midas-edge"
    data.mkdir(parents=True, mode=0o700)
    for name in ("workstation.key", "api-token", DB_NAME):
        (data / name).write_bytes(b"x")
    for path in (data, config):
        os.chown(path, OTHER, OTHER)
    return root


def doctor_not_owner(root: Path) -> tuple[int, str, str]:
    """The doctor CLI as a user who owns neither (root without its right to override modes)."""
    setpriv = require("setpriv")
    result = subprocess.run(  # fixed tools and arguments
        [
            setpriv,
            "--bounding-set=-dac_override,-dac_read_search",
            sys.executable,
            "-m",
            "edge",
            "doctor",
            "--root",
            str(root),
            "--config",
            CONFIG,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


@needs_root
def test_a_data_dir_the_user_may_not_enter_is_reported_not_a_crash(staged: Path) -> None:
    code, out, err = doctor_not_owner(staged)
    assert "Traceback" not in err, err
    assert code == 1, (out, err)
    checks_ = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks_["config valid"]["status"] == "passed"
    for name in (
        "permissions /var/lib/midas-edge/workstation.key",
        "permissions /var/lib/midas-edge/api-token",
        "store quota",
        "backlog",
    ):
        assert checks_[name]["status"] == "failed", name
        assert "Permission denied" in checks_[name]["detail"], name
        assert checks_[name]["fix"] == checks.AS_ROOT, name
    assert checks_["clock plausible"]["status"] == "passed"  # the others still ran


@needs_root
def test_an_unreadable_config_says_how_to_make_it_readable(staged: Path) -> None:
    config = staged / "etc/midas-edge/config.toml"
    config.chmod(0o600)
    code, out, err = doctor_not_owner(staged)
    assert "Traceback" not in err, err
    assert code == 1
    [result] = [c for c in json.loads(out)["checks"] if c["name"] == "config valid"]
    assert "cannot be read (Permission denied)" in result["detail"]
    assert result["fix"].startswith(f"chown root:midas-edge {config} && chmod 640 {config}")


async def test_a_date_header_that_is_no_date_is_not_compared() -> None:
    dates = iter(("not a date", "Sat, 28 Nov 2026 10:00:00 -0000"))

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok", headers={"Date": next(dates)})

    app = web.Application()
    app.router.add_get("/v1/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        target = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        config = from_mapping(
            {
                "workstation": {"id": "ws"},
                "sinks": [{"name": "r", "kind": "http", "target": target}],
            },
            "<test>",
        )
        moment = 1_795_860_000.0  # 2026-11-28 10:00:00 UTC
        bad = await checks.http_sink(config.sinks[0], checks.Where(None), moment)
        good = await checks.http_sink(config.sinks[0], checks.Where(None), moment)
    finally:
        await runner.cleanup()
    assert [(r.name, r.ok) for r in bad] == [("sink r reachable", True), ("clock vs r", None)]
    assert bad[1].detail == "not compared: its Date header is not a date"
    assert (good[1].ok, good[1].detail) == (True, "+0 s")  # no zone: read as UTC


def test_a_blob_removed_while_the_store_is_counted_counts_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "blobs/ab").mkdir(parents=True)
    (data / "blobs/ab/kept.jpg").write_bytes(b"x" * 1000)
    # Listed, then gone when its size is asked, as a blob retention deletes meanwhile.
    (data / "blobs/ab/gone.jpg").symlink_to(data / "blobs/ab/deleted.jpg")
    (data / DB_NAME).write_bytes(b"y" * 24)
    config = from_mapping({"workstation": {"id": "ws", "data_dir": str(data)}}, "<test>")
    by_name = {r.name: r for r in checks.disk(config, checks.Where(None))}
    assert by_name["store quota"].ok is True
    assert by_name["store quota"].detail.startswith("0 of ")
    assert checks._store_bytes(data) == 1024


def test_fixes_name_commands_that_work_where_they_are_run() -> None:
    assert enabled_fix("masked") == (
        "systemctl unmask midas-edge.service && systemctl enable --now midas-edge.service"
    )
    assert enabled_fix("disabled") == "systemctl enable --now midas-edge.service"
    assert enabled_fix("enabled") == ""
    staged = checks.Where(Path("/srv/image"), CONFIG)
    assert checks.outbox_command(staged, "dead", "regional-server") == (
        f"chroot /srv/image midas-edge outbox --config {CONFIG} --sink regional-server dead"
    )
    assert checks.outbox_command(checks.Where(None, "/etc/other.toml"), "status") == (
        "midas-edge outbox --config /etc/other.toml status"
    )
