"""Start to ready (process spawn → READY, and inside the daemon) and idle CPU after ready."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import line, median

CONFIG = """
[workstation]
id = "bench"
data_dir = "{data}"
[api]
listen = "127.0.0.1:0"
[storage]
min_free = 0
[[devices]]
name = "reader"
driver = "sim"
url = "sim://reader"
options = {{ interval = 3600 }}
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def one(directory: Path, idle_s: float) -> tuple[float, float, float]:
    config = directory / "config.toml"
    config.write_text(CONFIG.format(data=directory / "data"))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            entry = json.loads(raw)
            if entry["msg"] == "ready":
                spawn_to_ready = time.monotonic() - started
                inside = float(entry["start_s"])
                break
        else:
            raise RuntimeError("the daemon exited before it was ready")
        before = cpu_seconds(proc.pid)
        time.sleep(idle_s)
        idle_cpu = (cpu_seconds(proc.pid) - before) / idle_s
    finally:
        proc.terminate()
        proc.wait(15)
        proc.stdout.close()
    return spawn_to_ready, inside, idle_cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=5.0)
    args = parser.parse_args(argv)
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(one(Path(tmp), args.idle))
    print(f"start to ready, median of {args.runs}")
    line("process spawn -> READY (imports included)", f"{median([r[0] for r in results]):.3f} s")
    line("daemon start -> READY (config, store, API)", f"{median([r[1] for r in results]):.3f} s")
    line("goal", "<= 1.5 s")
    line(f"idle CPU over {args.idle:g} s after ready", f"{median([r[2] for r in results]):.2%}")


if __name__ == "__main__":
    main()
