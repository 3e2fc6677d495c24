"""JSON logs carry ids, never personal data; the records, devices and demo commands work."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

from drivers.sim.driver import ICAO_TD3
from edge import jsonlog
from tests.helpers import make_config, running, sim_device


async def test_logs_are_json_with_ids_and_no_personal_data(data_dir: Path) -> None:
    stream = io.StringIO()
    jsonlog.setup("info", stream)
    try:
        config = make_config(data_dir, devices=[sim_device("reader", interval=0.01, count=3)])
        async with running(config) as app:
            while app.store.writer.last_seq < 3:
                await asyncio.sleep(0.01)
    finally:
        logging.getLogger("midas_edge").handlers.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    committed = [entry for entry in lines if entry["msg"] == "record committed"]
    assert len(committed) == 3
    assert all(len(entry["record_id"]) == 36 for entry in committed)
    assert all({"ts", "level", "logger", "msg"} <= entry.keys() for entry in lines)
    text = stream.getvalue()
    for secret in ("ERIKSSON", "ANNA", "L898902C3", *ICAO_TD3.splitlines()):
        assert secret not in text


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_records_and_devices_commands(tmp_path: Path, data_dir: Path) -> None:
    config = make_config(data_dir, devices=[sim_device("reader", interval=0.01, count=4)])
    async with running(config) as app:
        while app.store.writer.last_seq < 4:
            await asyncio.sleep(0.01)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[workstation]\nid = "test-ws"\ndata_dir = "{data_dir}"\n'
        '[[devices]]\nname = "reader"\ndriver = "sim"\nurl = "sim://reader"\n'
    )
    result = _cli("records", "--config", str(path), "--after", "1", "--limit", "2")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == [2, 3]
    result = _cli("devices", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "reader: driver sim" in result.stdout
    assert "known drivers:\n" in result.stdout
    assert "  sim: A reader that presents its payloads" in result.stdout
    assert "  mrz-rte: RTE Native sends" in result.stdout


def test_demo_runs_and_commits(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge",
            "demo",
            "--duration",
            "6",
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "midas-edge demo: API http://127.0.0.1:" in result.stdout
    assert "passport-reader" in result.stdout
    assert "records committed" in result.stdout
    assert (tmp_path / "d" / "records.db").exists()
    # The simulators are read by their real drivers, and the records reach the receiver.
    devices = ("passport-reader", "ocr-reader", "boarding-pass-scanner", "seal-scanner")
    for device in (*devices, "counter-camera"):
        assert f"[device] {device}: ready" in result.stdout
    # The counter camera gives the travellers portraits through the real camera driver.
    assert "[portrait] stored as " in result.stdout
    committed = int(result.stdout.split("demo stopped: ")[1].split()[0])
    received = int(result.stdout.split("receiver: ")[1].split()[0])
    assert 1 <= received <= committed
    assert f"receiver: {received} of {committed} records from demo-01, gaps none" in result.stdout
