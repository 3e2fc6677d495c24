"""The real daemon, run as systemd runs it, speaks the notify protocol the unit relies on.

`midas-edge run` starts as a subprocess with NOTIFY_SOCKET and WATCHDOG_USEC set, as
systemd sets them for a Type=notify service with WatchdogSec=; a real AF_UNIX datagram
socket receives READY=1, then WATCHDOG=1 pings, then STOPPING=1 after SIGTERM, all sent by
the main process itself (NotifyAccess=main drops datagrams from any other pid). Where the
kernel offers it (PR_SET_MDWE, Linux 6.3), the daemon runs with writable-and-executable
memory refused, as MemoryDenyWriteExecute=yes runs it.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
WATCHDOG_USEC = 200_000
# Generous bounds on waits (never asserted on): a slow CI machine still gets there.
START_WAIT_S = 60.0
STOP_WAIT_S = 30.0
CONFIG = """\
[workstation]
id = "bz-pgia-01"
data_dir = "{data}"

[api]
listen = "127.0.0.1:0"

[storage]
quota = "1GiB"
min_free = 0

[[devices]]
name = "passport-reader"
driver = "sim"
url = "sim://passport-reader"
options = {{ count = 2, interval = 0.05 }}
"""


def _refuse_wx_memory() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        os._exit(121)


def _mdwe_supported() -> bool:
    code = "import ctypes; raise SystemExit(ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0)"
    return subprocess.run([sys.executable, "-c", code], check=False, timeout=30).returncode == 0


def _daemon_command() -> list[str]:
    script = Path(sys.executable).with_name("midas-edge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "edge"]


class NotifyListener:
    """systemd's end of NOTIFY_SOCKET: datagrams with the sender's pid (SO_PASSCRED)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.received: list[tuple[int, str]] = []

    def until(self, proc: subprocess.Popen[bytes], wanted: str, count: int, limit: float) -> None:
        """Receive until `wanted` has arrived `count` times (or the limit, or the daemon ends)."""
        deadline = time.monotonic() + limit
        while sum(text == wanted for _, text in self.lines()) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (proc.poll() is not None and not self._ready(0)):
                return
            if self._ready(min(remaining, 0.5)):
                self._receive()

    def _ready(self, timeout: float) -> bool:
        return bool(select.select([self.sock], [], [], timeout)[0])

    def _receive(self) -> None:
        size = socket.CMSG_SPACE(struct.calcsize("iII"))
        data, ancillary, _, _ = self.sock.recvmsg(4096, size)
        pid = -1
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[: struct.calcsize("iII")])[0]
        self.received.append((pid, data.decode()))

    def lines(self) -> list[tuple[int, str]]:
        """Every assignment received, one per line, with its sender's pid."""
        return [(pid, line) for pid, text in self.received for line in text.splitlines()]


def test_the_daemon_notifies_ready_then_watchdog_then_stopping(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data"))
    listener = NotifyListener(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    env.pop("WATCHDOG_PID", None)
    mdwe = _mdwe_supported()
    print(f"daemon runs with MemoryDenyWriteExecute (PR_SET_MDWE): {mdwe}")
    with (tmp_path / "daemon.log").open("wb") as log:
        proc = subprocess.Popen(
            [*_daemon_command(), "run", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=log,
            preexec_fn=_refuse_wx_memory if mdwe else None,  # noqa: PLW1509  # prctl only, before exec
        )
        try:
            listener.until(proc, "READY=1", 1, START_WAIT_S)
            listener.until(proc, "WATCHDOG=1", 3, START_WAIT_S)
            proc.send_signal(signal.SIGTERM)
            listener.until(proc, "STOPPING=1", 1, STOP_WAIT_S)
            returncode = proc.wait(STOP_WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            listener.sock.close()
    output = (tmp_path / "daemon.log").read_text()
    assert returncode == 0, output
    lines = listener.lines()
    texts = [text for _, text in lines]
    assert texts[0] == "READY=1", texts
    assert texts[1].startswith("STATUS=ready, 1 devices")
    ready, stopping = texts.index("READY=1"), texts.index("STOPPING=1")
    pings = [i for i, text in enumerate(texts) if text == "WATCHDOG=1"]
    assert len(pings) >= 3 and ready < pings[0] and pings[2] < stopping, texts
    # NotifyAccess=main: every datagram comes from the process systemd started.
    assert {pid for pid, _ in lines} == {proc.pid}
    logged = [json.loads(line)["msg"] for line in output.splitlines() if line.startswith("{")]
    assert logged.index("ready") < logged.index("stopping") < logged.index("stopped")
