"""The self-test: the real daemon (in this process) on the written config, checked from outside.

1. the daemon starts (store, keys, API, devices);
2. every enabled device reaches READY, as the local API (`GET /v1/devices`) reports it;
3. interactively: a document and a barcode presented by the technician become records, and a
   snapshot of each camera is written to `<data_dir>/selftest-<camera>.jpg` for them to look
   at (skipped without a terminal, with a note);
4. one self-test record reaches every sink: a barcode capture of the device `selftest`
   (driver `provisioning`) reading `MIDAS-EDGE SELFTEST <workstation> <time>` goes through the
   normal pipeline, store, sealing and forwarding, and must be confirmed by each sink. It is a
   real record (the region sees it, by its device name) and holds no personal data.

Under `--root` the daemon runs on the staged config: every absolute path under the root.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import cv2
import msgspec

from drivers.base import Capture, CaptureKind
from drivers.registry import Registry
from edge.app import App
from edge.config import Config
from edge.errors import EdgeError
from edge.records import DeviceRef, Record
from provisioning.safefile import write_file
from provisioning.ui import Console

START_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 30.0
CAPTURE_WAIT_S = 60.0
SINK_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.2
API_TIMEOUT_S = 5.0
SELFTEST_DEVICE = "selftest"
SNAPSHOT_MODE = 0o640


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: passed (True), failed (False) or skipped (None), with how to fix a failure."""

    name: str
    ok: bool | None
    detail: str = ""
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        status = "skipped" if self.ok is None else ("passed" if self.ok else "failed")
        return {"name": self.name, "status": status, "detail": self.detail, "fix": self.fix}


def _under(root: Path, value: str) -> str:
    return str(root / value.lstrip("/")) if value.startswith("/") else value


def staged_config(config: Config, root: Path | None) -> Config:
    """The config the self-test runs: a free API port; every absolute path under `root`."""
    replace = msgspec.structs.replace
    api = replace(config.api, listen="127.0.0.1:0")
    if root is None:
        return replace(config, api=api)
    sinks = []
    for sink in config.sinks:
        paths = {k: _under(root, v) for k in ("ca", "cert", "key") if (v := getattr(sink, k))}
        if sink.kind == "nas":
            paths["target"] = _under(root, sink.target)
        sinks.append(replace(sink, **paths))
    certs = config.documents.certs_dir
    return replace(
        config,
        api=api,
        workstation=replace(config.workstation, data_dir=_under(root, config.workstation.data_dir)),
        devices=[replace(d, url=_under(root, d.url)) for d in config.devices],
        sinks=sinks,
        documents=replace(config.documents, certs_dir=_under(root, certs) if certs else None),
    )


async def api_get(api_url: str, token: str, path: str) -> Any:
    """A local API answer (JSON), as any client of the daemon gets it."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=API_TIMEOUT_S)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"{api_url}{path}", headers=headers) as response,
    ):
        response.raise_for_status()
        return await response.json()


async def _devices(api_url: str, token: str) -> dict[str, str]:
    """name -> state, from the local API."""
    body = await api_get(api_url, token, "/v1/devices")
    return {str(d["name"]): str(d["state"]) for d in body.get("devices", [])}


async def check_ready(api_url: str, token: str, names: Sequence[str]) -> list[CheckResult]:
    """Every device READY in `GET /v1/devices` within READY_TIMEOUT_S."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    states: dict[str, str] = {}
    while True:
        with contextlib.suppress(
            aiohttp.ClientError, TimeoutError, ValueError, KeyError, AttributeError
        ):
            states = await _devices(api_url, token)
        if all(states.get(n) == "ready" for n in names) or time.monotonic() > deadline:
            break
        await asyncio.sleep(POLL_S)
    return [
        CheckResult(
            f"device {name} ready",
            states.get(name) == "ready",
            f"state {states.get(name, 'unknown')}",
            "" if states.get(name) == "ready" else f"midas-edge devices --probe  # {name}",
        )
        for name in names
    ]


class _Seen:
    """Records committed while the self-test runs, by kind."""

    def __init__(self) -> None:
        self.kinds: dict[str, asyncio.Event] = {}

    def event(self, kind: str) -> asyncio.Event:
        return self.kinds.setdefault(kind, asyncio.Event())

    def __call__(self, records: Sequence[Record], bodies: Sequence[bytes], at: float) -> None:
        for record in records:
            if record.device.name != SELFTEST_DEVICE:
                self.event(record.kind.value).set()


async def _presented(console: Console, seen: _Seen, kind: str, what: str) -> CheckResult:
    name = f"{kind} presented"
    if seen.event(kind).is_set():
        return CheckResult(name, True, "read")
    if not await asyncio.to_thread(console.wait_enter, f"present {what}"):
        return CheckResult(name, None, "skipped by the technician")
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CAPTURE_WAIT_S):
            await seen.event(kind).wait()
    ok = seen.event(kind).is_set()
    return CheckResult(name, ok, "read" if ok else "nothing read", "" if ok else "check the cable")


async def check_cameras(app: App, console: Console, data_dir: Path) -> list[CheckResult]:
    out = []
    for supervisor in app.supervisors:
        frame_of = getattr(supervisor.driver, "latest_frame", None)
        if frame_of is None:
            continue
        name = supervisor.config.name
        frame = frame_of()
        if frame is None:
            out.append(CheckResult(f"camera {name} picture", False, "no frame", "check the cable"))
            continue
        path = data_dir / f"selftest-{name}.jpg"
        ok, data = cv2.imencode(".jpg", frame.image)
        if ok:  # into the service's data dir: never through a link left there
            await asyncio.to_thread(write_file, path, data.tobytes(), SNAPSHOT_MODE)
        if not console.interactive:
            out.append(CheckResult(f"camera {name} picture", None, f"frames arrive; see {path}"))
            continue
        looks = await asyncio.to_thread(console.confirm, f"does {path} show the counter?")
        out.append(CheckResult(f"camera {name} picture", looks, str(path), "aim the camera"))
    return out


async def check_sinks(app: App, workstation: str) -> list[CheckResult]:
    sinks = [s.name for s in app.config.sinks]
    if not sinks or app.pipeline is None:
        return [CheckResult("test record delivered", None, "no sinks configured")]
    text = f"MIDAS-EDGE SELFTEST {workstation} {int(time.time())}"
    capture = Capture(
        CaptureKind.BARCODE,
        text.encode(),
        int(time.time() * 1000),
        text=text,
        payload=text.encode(),
        symbology="code128",
    )
    ref = DeviceRef(SELFTEST_DEVICE, "provisioning")
    try:
        record = await (await app.pipeline.submit(ref, capture))
    except EdgeError as exc:  # the store refused it (full, quarantined) or the daemon stops
        fix = "midas-edge doctor  # disk headroom, store quota"
        return [CheckResult("test record stored", False, f"refused: {exc}", fix)]
    deadline = time.monotonic() + SINK_TIMEOUT_S
    rows: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        rows = await app.store.query(
            "SELECT sink, state, last_error FROM deliveries WHERE seq = ?", (record.seq,)
        )
        if rows and all(r[1] == "delivered" for r in rows):
            break
        await asyncio.sleep(POLL_S)
    states = {str(r[0]): (str(r[1]), r[2]) for r in rows}
    out = []
    for sink in sinks:
        state, error = states.get(sink, ("missing", None))
        ok = state == "delivered"
        detail = f"record {record.id}: {state}" + (f" ({error})" if error and not ok else "")
        fix = "" if ok else "midas-edge doctor  # sink reachability and certificate"
        out.append(CheckResult(f"test record reached {sink}", ok, detail, fix))
    return out


async def run_selftest(
    config: Config, console: Console, registry: Registry, root: Path | None
) -> list[CheckResult]:
    """Start the daemon on `config`, run the checks, stop it; the results."""
    staged = staged_config(config, root)
    app = App(staged, source="selftest", registry=registry)
    seen = _Seen()
    task = asyncio.create_task(app.run(), name="selftest-daemon")
    ready = asyncio.create_task(app.ready.wait(), name="selftest-ready")
    results: list[CheckResult] = []
    try:
        done, _ = await asyncio.wait(
            {task, ready}, timeout=START_TIMEOUT_S, return_when="FIRST_COMPLETED"
        )
        if ready not in done:
            why = "did not get ready"
            if task.done() and task.exception() is not None:
                why = str(task.exception())
            return [CheckResult("daemon starts", False, why, "midas-edge config check")]
        results.append(CheckResult("daemon starts", True, f"API {app.api_url}"))
        app.store.on_commit(seen)
        names = [d.name for d in staged.devices if d.enabled]
        results += await check_ready(app.api_url, app.token, names)
        if console.interactive and names:
            results.append(await _presented(console, seen, "document", "a passport or ID card"))
            results.append(await _presented(console, seen, "barcode", "a barcode"))
        elif names:
            results.append(CheckResult("documents and barcodes presented", None, "non-interactive"))
        results += await check_cameras(app, console, Path(staged.workstation.data_dir))
        results += await check_sinks(app, staged.workstation.id)
    finally:
        ready.cancel()
        app.request_stop()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.gather(task, return_exceptions=True)
        except TimeoutError:
            task.cancel()
    if task.done() and not task.cancelled() and isinstance(task.exception(), EdgeError):
        results.append(CheckResult("daemon stops cleanly", False, str(task.exception())))
    return results
