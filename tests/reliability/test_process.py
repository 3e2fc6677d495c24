"""The daemon as a process: clean stop, kill -9, corrupt database, bad config."""

from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.reliability.daemon import Daemon, write_config

KILL_ITERATIONS = int(os.environ.get("MIDAS_KILL_ITERATIONS", "3"))


def stored_ids(db: Path) -> tuple[set[str], list[int]]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT id, seq FROM records ORDER BY seq").fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}, [r[1] for r in rows]


def test_sigterm_finishes_in_flight_and_exits_0(tmp_path: Path) -> None:
    data = tmp_path / "data"
    daemon = Daemon(write_config(tmp_path, data, interval=0.0))
    try:
        daemon.wait_log("ready")
        daemon.wait_log("record committed", count=200)
        started = time.monotonic()
        assert daemon.terminate() == 0
        assert time.monotonic() - started < 10
        (stopped,) = daemon.logs("stopped")
    finally:
        daemon.close()
    ids, seqs = stored_ids(data / "records.db")
    assert daemon.acknowledged() <= ids
    assert seqs == list(range(1, len(seqs) + 1))
    assert stopped["last_seq"] == len(seqs)


def test_kill9_during_burst_loses_no_acknowledged_record(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path, data, interval=0.0)
    rng = random.Random(int(os.environ.get("MIDAS_KILL_SEED", "1")))
    acknowledged: set[str] = set()
    for _ in range(KILL_ITERATIONS):
        daemon = Daemon(config)
        try:
            daemon.wait_log("ready")
            daemon.wait_log("record committed", count=20)
            time.sleep(rng.uniform(0.05, 0.6))
            daemon.kill9()
            acknowledged |= daemon.acknowledged()
        finally:
            daemon.close()
        ids, seqs = stored_ids(data / "records.db")
        lost = acknowledged - ids
        assert not lost, f"{len(lost)} acknowledged records lost"
        assert seqs == list(range(1, len(seqs) + 1))  # no gaps, no reuse
    assert len(acknowledged) > 20 * KILL_ITERATIONS


def _health(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url + "/v1/health", timeout=5) as resp:  # loopback
        result: dict[str, object] = json.loads(resp.read())
        return result


def test_corrupt_database_is_quarantined_and_the_daemon_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "records.db").write_bytes(b"this is not an SQLite database" * 200)
    daemon = Daemon(write_config(tmp_path, data, interval=0.2))
    try:
        (ready,) = daemon.wait_log("ready")
        daemon.wait_log("record committed")
        health = _health(str(ready["api"]))
        assert health["status"] == "degraded"
        alarms = health["alarms"]
        assert isinstance(alarms, list)
        assert [a["code"] for a in alarms] == ["store_quarantined"]
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    kept = list(data.glob("records.db.corrupt-*"))
    assert len(kept) == 1
    assert kept[0].read_bytes().startswith(b"this is not an SQLite database")


def _run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_config_never_starts_half_a_daemon(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path, data)
    config.write_text(config.read_text().replace('driver = "sim"', 'driver = "no-such-driver"'))
    result = _run(config)
    assert result.returncode == 1
    assert "devices[0].driver" in result.stderr
    assert "Traceback" not in result.stderr
    assert not data.exists()  # nothing was created


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = write_config(tmp_path, tmp_path / "data")
        config.write_text(config.read_text().replace("127.0.0.1:0", f"127.0.0.1:{port}"))
        result = _run(config)
    assert result.returncode == 1
    assert "cannot listen" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("how", ["missing", "unreadable"])
def test_missing_config_file(tmp_path: Path, how: str) -> None:
    path = tmp_path / "config.toml"
    if how == "unreadable":
        path.mkdir()
    result = _run(path)
    assert result.returncode == 1
    assert str(path) in result.stderr
