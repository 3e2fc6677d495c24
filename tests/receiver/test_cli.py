"""`midas-edge receiver` as a process: it listens, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from receiver import SetupError
from receiver.main import server_tls

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


async def test_receiver_command_serves_until_sigterm(tmp_path: Path) -> None:
    trust = tmp_path / "trust"
    trust.mkdir()
    args = ["--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.db"), "--trust", str(trust)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge",
        "receiver",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
        url = line.decode().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http, http.get(f"{url}/v1/health") as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (tmp_path / "r.db").exists()


async def test_receiver_command_refuses_a_missing_trust_dir(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge",
        "receiver",
        "--db",
        str(tmp_path / "r.db"),
        "--trust",
        str(tmp_path / "nope"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), STOP_TIMEOUT_S)
    assert proc.returncode == 1
    assert b"not a directory" in err


def test_tls_options_go_together(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="go together"):
        server_tls(str(tmp_path / "c.pem"), None, None)
    with pytest.raises(SetupError, match="needs"):
        server_tls(None, None, str(tmp_path / "ca.pem"))
    with pytest.raises(SetupError, match="cannot load"):
        server_tls(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"), None)
    assert server_tls(None, None, None) is None


async def test_db_option_chooses_the_backend(tmp_path: Path) -> None:
    from receiver.main import open_storage
    from receiver.pg_store import PostgresStorage
    from receiver.sqlite_store import SqliteStorage

    assert isinstance(open_storage("postgresql://nobody@127.0.0.1:1/none"), PostgresStorage)
    assert isinstance(open_storage(str(tmp_path / "r.db")), SqliteStorage)
    with pytest.raises(SetupError, match="does not exist"):
        open_storage(str(tmp_path / "missing" / "r.db"))
