"""Run the real daemon as a child process and watch its JSON log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

CONFIG = """
[workstation]
id = "rel-ws"
data_dir = "{data_dir}"

[api]
listen = "127.0.0.1:0"

[storage]
quota = "4GiB"
min_free = 0

[[devices]]
name = "flood"
driver = "sim"
url = "sim://flood"
options = {{ profile = "passport", interval = {interval} }}
"""


def write_config(directory: Path, data_dir: Path, interval: float = 0.0) -> Path:
    path = directory / "config.toml"
    path.write_text(CONFIG.format(data_dir=data_dir, interval=interval))
    return path


class Daemon:
    """`midas-edge run` in a child process; its log lines are collected as they come."""

    def __init__(self, config: Path, extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.lines: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = {"msg": "unparsed", "raw": raw.decode(errors="replace")}
            with self._lock:
                self.lines.append(entry)

    def logs(self, msg: str) -> list[dict[str, Any]]:
        with self._lock:
            return [line for line in self.lines if line.get("msg") == msg]

    def wait_log(self, msg: str, timeout: float = 15.0, count: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.logs(msg)
            if len(found) >= count:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        stderr = (
            self.proc.stderr.read().decode()
            if self.proc.poll() is not None and self.proc.stderr
            else ""
        )
        raise AssertionError(f"no {count} x {msg!r} in the daemon log; stderr: {stderr[-2000:]}")

    def acknowledged(self) -> set[str]:
        return {line["record_id"] for line in self.logs("record committed")}

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(5)

    def terminate(self, timeout: float = 15.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill9()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
