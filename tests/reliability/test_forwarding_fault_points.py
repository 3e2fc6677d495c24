"""Crashes at named fault points (agent/faults.py) and a NAS share that fills up: after a
restart (or once space returns) every record reaches every sink exactly once (the harness's
oracle), and no manifest ever names a part file.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from agent.faults import FAULT_ENV
from tests.reliability.forwarding_harness import (
    DRAIN_TIMEOUT_S,
    SENTINEL,
    WORKSTATION,
    Figures,
    Rig,
    query,
    report,
    rig,
    wait_until,
)
from tests.reliability.tmpfs import small_tmpfs

FAULT_RUN = 40
RESTART_RUN = 10
DEATH_TIMEOUT_S = 30.0
FULL_TIMEOUT_S = 30.0
POINTS = ("sink.sent", "nas.parts_written", "nas.before_manifest", "seal.signed")


def manifest_files(r: Rig) -> list[str]:
    """Every file name the share's manifests list (records and blobs)."""
    named: list[str] = []
    for manifest in r.nas.rglob("manifest-*.jsonl"):
        if ".part-" in manifest.name:
            continue
        for line in manifest.read_text().splitlines():
            entry = json.loads(line)
            named.append(entry["file"])
            named.extend(blob["file"] for blob in entry["blobs"])
    return named


async def settle(r: Rig) -> Figures:
    """Stop after the drain; young parts a crash left are counted (the cleanup keeps parts for
    an hour), then aged so one more start must remove them before the oracle runs."""
    await r.drain()
    await r.stop()
    assert not [f for f in manifest_files(r) if ".part-" in f]
    if r.age_parts():
        r.start(RESTART_RUN)
        await r.ready()
        await r.drain()
        await r.stop()
    return await r.oracle()


@pytest.mark.parametrize("point", POINTS)
async def test_crash_at_fault_point(
    tmp_path: Path, point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path) as r:
        monkeypatch.setenv(FAULT_ENV, point)
        daemon = r.start(FAULT_RUN)
        monkeypatch.delenv(FAULT_ENV)
        await wait_until(
            f"the daemon to die at {point}", lambda: daemon.proc.poll() is not None, DEATH_TIMEOUT_S
        )
        assert daemon.proc.returncode == -signal.SIGKILL, daemon.proc.returncode
        await r.kill9()  # already dead: collects its log and acknowledged ids
        assert r.acknowledged, "no record was committed before the fault point"
        if point == "nas.parts_written":
            assert r.parts(), "the crash left no part file"
        if point == "nas.before_manifest":
            assert list(r.nas.rglob("records-*.jsonl")), "the crash came before the records file"
            assert not list(r.nas.rglob("manifest-*")), "a manifest was published"
        if point == "seal.signed":
            assert query(r.db, "SELECT count(*) FROM seals") == [(0,)]
        r.start(RESTART_RUN)
        await r.ready()
        figures = await settle(r)
    assert figures.records >= len(r.acknowledged)
    report(f"fault point {point}", figures)


def leave_free(share: Path, keep: int) -> Path:
    """A filler file taking all but about `keep` bytes of the share."""
    filler = share / "filler"
    filler.write_bytes(b"\0" * max(0, shutil.disk_usage(share).free - keep))
    return filler


async def test_nas_share_fills_up_then_drains(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        with small_tmpfs(r.nas, "1m") as share:
            (share / SENTINEL).write_text("test-share\n")
            filler = leave_free(share, 64 * 1024)
            daemon = r.start(FAULT_RUN * 4)
            await r.ready()
            await r.committed(FAULT_RUN * 4)

            def failing() -> list[dict[str, Any]]:
                return [line for line in daemon.logs("sink failing") if line.get("sink") == "nas"]

            await wait_until(
                "the NAS sink to fail on a full share", lambda: bool(failing()), FULL_TIMEOUT_S
            )
            assert any("full" in line["error"] for line in failing()), failing()
            assert daemon.proc.poll() is None, "the daemon died on a full share"
            states = dict(
                query(r.db, "SELECT state, count(*) FROM deliveries WHERE sink = 'nas' GROUP BY 1")
            )
            assert states.get("dead", 0) == 0 and states.get("pending", 0) > 0, states
            attempts = query(r.db, "SELECT max(attempts) FROM deliveries WHERE sink = 'nas'")
            assert attempts == [(0,)], "a full share counted attempts against the records"
            bodies = {rid: bytes(b) for rid, b in query(r.db, "SELECT id, body FROM records")}
            base = share / WORKSTATION
            for path in base.rglob("records-*.jsonl"):
                held = path.read_bytes().removesuffix(b"\n").split(b"\n")
                assert set(held) <= set(bodies.values()), f"{path.name} holds other bytes"
            for name in manifest_files(r):
                assert (base / name).is_file(), f"a manifest names a missing file: {name}"
            filler.unlink()  # space returns
            await wait_until("the share to drain", lambda: r.pending() == 0, DRAIN_TIMEOUT_S)
            await r.stop()
            figures = await r.oracle()
    report("nas share full", figures)
