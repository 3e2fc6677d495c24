"""`midas-edge demo`: the real daemon on a throw-away data dir, fed by simulated devices."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge import demo_data, jsonlog, records, runner
from edge.app import App
from edge.config import from_mapping


def demo_config(data_dir: Path) -> dict[str, Any]:
    """Embedded defaults: a passport reader, a boarding-pass scanner and a seal reader."""
    today = datetime.now(UTC).date()
    certs = data_dir / "demo-certs"
    return {
        "workstation": {"id": "demo-01", "data_dir": str(data_dir)},
        "api": {"listen": "127.0.0.1:0"},
        "devices": [
            {
                "name": "passport-reader",
                "driver": "sim",
                "url": "sim://passport-reader",
                "options": {
                    "profile": "passport",
                    "interval": 1.5,
                    "payloads": demo_data.documents(today),
                },
            },
            {
                "name": "barcode-scanner",
                "driver": "sim",
                "url": "sim://barcode-scanner",
                "options": {
                    "profile": "boarding-pass",
                    "interval": 4.0,
                    "payloads": demo_data.boarding_passes(today),
                },
            },
            {
                "name": "seal-reader",
                "driver": "sim",
                "url": "sim://seal-reader",
                "options": {
                    "profile": "boarding-pass",
                    "symbology": "qr",
                    "interval": 5.0,
                    "payloads": demo_data.seals(today, certs),
                },
            },
        ],
        "documents": {"certs_dir": str(certs)},
        "storage": {"quota": "1GiB", "min_free": "64MiB"},
    }


async def _show(app: App, duration: float | None, out: Any) -> None:
    await app.ready.wait()
    print(f"midas-edge demo: API {app.api_url}  (token: {app.token})", file=out)
    print(f"  curl -H 'Authorization: Bearer {app.token}' {app.api_url}/v1/records", file=out)
    print(f"  data dir: {app.config.data_dir}   stop with Ctrl-C", file=out)
    print(f"  {'seq':>5}  {'kind':<9} {'device':<16} {'format':<7} {'verdict':<9} id", file=out)
    loop = asyncio.get_running_loop()
    deadline = None if duration is None else loop.time() + duration
    with app.hub.subscribe() as sub:
        while True:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                event = await asyncio.wait_for(sub.get(), timeout)
            except TimeoutError:
                break
            if event is None:
                return
            if event.type == "record":
                r = records.decode(event.data)
                print(
                    f"  {r.seq:>5}  {r.kind:<9} {r.device.name:<16} {r.format or '-':<7} "
                    f"{r.verdict:<9} {r.id}",
                    file=out,
                    flush=True,
                )
            elif event.type in ("alarm", "capture_refused", "device"):
                print(f"  [{event.type}] {event.data.decode()}", file=out, flush=True)
    app.request_stop()


def run_demo(duration: float | None = None, data_dir: Path | None = None) -> int:
    """Run the demo; returns the process exit code."""
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="midas-edge-demo-"))
    config = from_mapping(demo_config(data_dir.resolve()), "<demo defaults>")
    # Logs go to stderr so the record table stays readable; nothing personal is in either.
    jsonlog.setup("warning", sys.stderr)
    app = App(config, source="<demo defaults>")
    code = runner.run(app, lambda a: _show(a, duration, sys.stdout))
    if code == 0:
        print(f"demo stopped: {app.store.writer.last_seq} records committed in {data_dir}")
    return code
