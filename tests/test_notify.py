"""systemd notify: READY only when serving, WATCHDOG only while components progress, STOPPING."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import aiohttp

from edge.notify import Notifier, stuck_probe, watchdog
from tests.helpers import make_config, running


def notify_socket(tmp_path: Path) -> tuple[socket.socket, str]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    return sock, path


def drain(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


async def test_ready_watchdog_stopping(tmp_path: Path, data_dir: Path) -> None:
    sock, path = notify_socket(tmp_path)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    async with running(make_config(data_dir), notifier=notifier) as app:
        messages = drain(sock)
        assert messages and messages[0].startswith("READY=1")
        # READY is sent only once the API answers.
        async with aiohttp.ClientSession() as http, http.get(app.api_url + "/v1/health") as r:
            assert r.status == 200
        await asyncio.sleep(0.3)
        pings = [m for m in drain(sock) if m == "WATCHDOG=1"]
        assert len(pings) >= 3
    assert "STOPPING=1" in drain(sock)
    sock.close()


async def test_stuck_component_withholds_the_watchdog(tmp_path: Path) -> None:
    sock, path = notify_socket(tmp_path)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000"})
    busy: list[float | None] = [None]
    task = asyncio.create_task(watchdog(notifier, {"writer": stuck_probe(lambda: busy[0], 0.05)}))
    await asyncio.sleep(0.1)
    assert "WATCHDOG=1" in drain(sock)
    busy[0] = time.monotonic()  # the writer starts a commit that never ends
    await asyncio.sleep(0.2)
    drain(sock)
    await asyncio.sleep(0.2)
    assert drain(sock) == []
    busy[0] = None  # progress again
    await asyncio.sleep(0.1)
    assert "WATCHDOG=1" in drain(sock)
    task.cancel()
    notifier.close()
    sock.close()


def test_abstract_socket_and_foreign_watchdog_pid() -> None:
    n = Notifier({"NOTIFY_SOCKET": "@midas", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert n.enabled
    assert n.watchdog_s is None  # the watchdog is meant for another process
    n.send("READY=1")  # nobody listens on that abstract name: logged, never raised
    n.close()
    assert Notifier({}).enabled is False
