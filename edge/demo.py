"""`midas-edge demo`: the real daemon on a throw-away data dir, fed by byte-level simulators.

Every device is a simulator speaking its family's exact bytes over a real pty (or a fake USB
bus), read by the real driver: an RTE passport reader, a Honeywell-style OCR line reader, a
CDC boarding-pass scanner and a HID POS seal scanner; a counter camera (the real camera driver on
a synthetic 1280x720 picture showing a public-domain portrait) gives each traveller a portrait,
analysed and stored beside the document record. Now and then one sends line noise, and
the passport reader is unplugged and plugged back in once, to show recovery. Every record is
sealed and forwarded to a reference regional receiver running beside the daemon (it trusts the
demo workstation's key); at the end the receiver's view of the chain is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import cv2

from agent.chain import PUBLIC_FILE, load_or_create_key
from drivers.sim.device import SimDevice
from drivers.sim.profiles import profile_class
from edge import demo_data, jsonlog, records, runner, sample
from edge.app import App
from edge.config import from_mapping
from receiver.app import serve
from receiver.checks import Trust
from receiver.sqlite_store import SqliteStorage

UNPLUG_AFTER_S = 9.0
FORWARD_GRACE_S = 5.0
UNPLUGGED_FOR_S = 2.0
NOISE_EVERY_S = 7.0


@dataclass(frozen=True)
class DemoDevice:
    name: str
    profile: str
    interval: float  # seconds between presented items
    payloads: str  # "documents", "boarding_passes" or "seals"


DEVICES = (
    DemoDevice("passport-reader", "rte-native", 1.5, "documents"),
    DemoDevice("ocr-reader", "honeywell-ocr-cdc", 4.0, "documents"),
    DemoDevice("boarding-pass-scanner", "barcode-cdc", 3.0, "boarding_passes"),
    DemoDevice("seal-scanner", "hidpos", 5.0, "seals"),
)


def make_simulators(data_dir: Path) -> dict[str, SimDevice]:
    """One simulator per demo device; pty devices get a stable link under the data dir."""
    links = data_dir / "devices"
    links.mkdir(mode=0o700, parents=True, exist_ok=True)
    sims: dict[str, SimDevice] = {}
    for device in DEVICES:
        cls = profile_class(device.profile)
        link = links / device.name if cls.standalone else None
        sims[device.name] = cls(link=link, seed=len(sims))
    return sims


WORKSTATION = "demo-01"
CAMERA = "counter-camera"
CAMERA_SIZE = (1280, 720)
# The traveller's face fills this share of the frame height (within the portrait thresholds).
FACE_SHARE = 0.3


def traveller_picture(data_dir: Path) -> Path:
    """The picture the demo camera shows: the sample portrait at a counter camera's distance."""
    path = data_dir / "devices" / "traveller.png"
    if not cv2.imwrite(str(path), sample.head_scaled(FACE_SHARE * CAMERA_SIZE[1])):
        raise OSError(f"cannot write {path.name}")
    return path


def camera_device(picture: Path) -> dict[str, Any]:
    """The counter camera: the real camera driver on a synthetic moving picture."""
    width, height = CAMERA_SIZE
    return {
        "name": CAMERA,
        "driver": "camera",
        "url": f"sim://camera?size={width}x{height}&seed=3&paste={quote(str(picture))}",
        "options": {"fps": 15.0, "width": width, "height": height},
    }


def demo_config(
    data_dir: Path, sims: dict[str, SimDevice], receiver_port: int, picture: Path
) -> dict[str, Any]:
    """Embedded defaults: every simulated device with the driver that reads it, one sink."""
    return {
        "workstation": {"id": WORKSTATION, "data_dir": str(data_dir)},
        "api": {"listen": "127.0.0.1:0"},
        "devices": [
            {
                "name": name,
                "driver": sim.driver,
                "url": str(sim.link) if sim.link is not None else sim.url,
                "options": sim.options(),
            }
            for name, sim in sims.items()
        ]
        + [camera_device(picture)],
        "sinks": [
            {
                "name": "regional-server",
                "kind": "http",
                "target": f"http://127.0.0.1:{receiver_port}/",
                "interval": 1.0,
                "timeout": 5.0,
            }
        ],
        "forwarding": {"backoff_base": 0.5, "backoff_cap": 5.0},
        "documents": {"certs_dir": str(data_dir / "demo-certs")},
        "storage": {"quota": "1GiB", "min_free": "64MiB"},
        "portrait": {"camera": CAMERA, "duration": 3.0},
    }


def _payloads(kind: str, data_dir: Path) -> list[str]:
    today = datetime.now(UTC).date()
    if kind == "seals":
        return demo_data.seals(today, data_dir / "demo-certs")
    if kind == "boarding_passes":
        return demo_data.boarding_passes(today)
    return demo_data.documents(today)


async def _present_every(sim: SimDevice, interval: float, payloads: list[str]) -> None:
    for payload in itertools.cycle(payloads):
        await asyncio.sleep(interval)
        if sim.plugged:
            with contextlib.suppress(ConnectionError):  # unplugged while sending
                await sim.present(payload)


async def _noise(sims: dict[str, SimDevice]) -> None:
    """Line noise from one device after another, now and then."""
    for sim in itertools.cycle(sims.values()):
        await asyncio.sleep(NOISE_EVERY_S)
        if sim.plugged:
            with contextlib.suppress(ConnectionError):  # unplugged while sending
                await sim.inject_garbage()


async def _unplug_once(sim: SimDevice, out: Any) -> None:
    await asyncio.sleep(UNPLUG_AFTER_S)
    print("  -- unplugging the passport reader --", file=out, flush=True)
    await sim.unplug()
    await asyncio.sleep(UNPLUGGED_FOR_S)
    print("  -- plugging it back in --", file=out, flush=True)
    await sim.replug()


async def _show(
    app: App,
    sims: dict[str, SimDevice],
    payloads: dict[str, list[str]],
    receiver_port: int,
    duration: float | None,
    out: Any,
) -> None:
    data_dir = app.config.data_dir
    storage = SqliteStorage(data_dir / "receiver" / "records.db")
    async with contextlib.AsyncExitStack() as stack:
        await storage.open()
        stack.push_async_callback(storage.close)
        trust = Trust(data_dir / "receiver" / "trust")
        receiver = await stack.enter_async_context(serve(storage, trust, port=receiver_port))
        for sim in sims.values():
            await stack.enter_async_context(sim)
        await app.ready.wait()
        print(f"regional receiver (reference): {receiver.url}", file=out)
        print(f"midas-edge demo: API {app.api_url}  (token: {app.token})", file=out)
        print(f"  curl -H 'Authorization: Bearer {app.token}' {app.api_url}/v1/records", file=out)
        print(f"  data dir: {data_dir}   stop with Ctrl-C", file=out)
        print(
            f"  {'seq':>5}  {'kind':<9} {'device':<22} {'format':<13} {'verdict':<9} id", file=out
        )
        async with asyncio.TaskGroup() as tg:
            feeders = [
                tg.create_task(
                    _present_every(sims[d.name], d.interval, payloads[d.name]),
                    name=f"demo:{d.name}",
                )
                for d in DEVICES
            ]
            feeders.append(tg.create_task(_noise(sims), name="demo:noise"))
            feeders.append(
                tg.create_task(_unplug_once(sims["passport-reader"], out), name="demo:unplug")
            )
            await _print_events(app, duration, out)
            for task in feeders:
                task.cancel()
        await _show_receiver(app, storage, out)
    app.request_stop()


async def _show_receiver(app: App, storage: SqliteStorage, out: Any) -> None:
    """What the regional side holds: forwarded once each, the chain without breaks."""
    # Reads still in flight when the demo ended are committed a moment later: wait until the
    # receiver has everything the store has, or the grace time is over.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FORWARD_GRACE_S
    while loop.time() < deadline:
        committed = app.store.writer.last_seq
        status = await storage.chain(WORKSTATION)
        if status is not None and status.last_seq >= committed:
            await asyncio.sleep(0.3)
            if app.store.writer.last_seq == committed:
                break
        await asyncio.sleep(0.1)
    committed = app.store.writer.last_seq
    status = await storage.chain(WORKSTATION)
    received = 0 if status is None else status.count
    gaps = "none" if status is None or not status.gaps else status.gaps
    print(
        f"  receiver: {received} of {committed} records from {WORKSTATION}, gaps {gaps}"
        + ("" if received == committed else " (the rest stay in the outbox for the next start)"),
        file=out,
    )


async def _print_events(app: App, duration: float | None, out: Any) -> None:
    loop = asyncio.get_running_loop()
    deadline = None if duration is None else loop.time() + duration
    sink_states: dict[str, str] = {}
    with app.hub.subscribe() as sub:
        while True:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                async with asyncio.timeout(timeout):
                    event = await sub.get()
            except TimeoutError:
                return
            if event is None:
                return
            if event.type == "record":
                r = records.decode(event.data)
                print(
                    f"  {r.seq:>5}  {r.kind:<9} {r.device.name:<22} {r.format or '-':<13} "
                    f"{r.verdict:<9} {r.id}",
                    file=out,
                    flush=True,
                )
            elif event.type == "sink":
                # Backlog changes with every record; show the sink only when its state changes.
                body = json.loads(event.data)
                if sink_states.get(body["sink"]) != body["state"]:
                    sink_states[body["sink"]] = body["state"]
                    print(f"  [sink] {_summary('sink', event.data)}", file=out, flush=True)
            elif event.type == "portrait":
                print(f"  [portrait] {_portrait(json.loads(event.data))}", file=out, flush=True)
            elif event.type in ("alarm", "capture_refused", "device", "device_error"):
                print(f"  [{event.type}] {_summary(event.type, event.data)}", file=out, flush=True)


def _portrait(body: dict[str, Any]) -> str:
    """One readable line for the end of a portrait capture."""
    frames = f"{body['frames_analysed']} frames analysed"
    if body["state"] == "stored":
        return f"stored as {body['record']} (score {body['best_score']}, {frames})"
    return f"{body['state'].replace('_', ' ')} ({frames})"


def _summary(kind: str, data: bytes) -> str:
    """One readable line for a device, device-error, alarm or refusal event."""
    body = json.loads(data)
    if kind == "device":
        detail = f" ({body['detail']})" if body.get("detail") else ""
        return f"{body['name']}: {body['state']}{detail}"
    if kind == "device_error":
        return f"{body['device']}: {body['code']}: {body['message']}"
    if kind == "sink":
        error = f" ({body['error']})" if body.get("error") else ""
        return f"{body['sink']}: {body['state']}, backlog {body['backlog']}{error}"
    if kind == "alarm":
        return f"{'raised' if body['active'] else 'cleared'}: {body['message']}"
    return f"{body['device']}: {body['reason']}"


def run_demo(duration: float | None = None, data_dir: Path | None = None) -> int:
    """Run the demo; returns the process exit code."""
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="midas-edge-demo-"))
    data_dir = data_dir.resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    sims = make_simulators(data_dir)
    # The reference receiver trusts the demo workstation's key (provisioning's job in the field).
    load_or_create_key(data_dir)
    trust = data_dir / "receiver" / "trust"
    trust.mkdir(mode=0o700, parents=True, exist_ok=True)
    (trust / f"{WORKSTATION}.pem").write_bytes((data_dir / PUBLIC_FILE).read_bytes())
    # Made before the daemon starts: the seals' signer certificate goes to its certs dir.
    (data_dir / "demo-certs").mkdir(mode=0o700, exist_ok=True)
    payloads = {d.name: _payloads(d.payloads, data_dir) for d in DEVICES}
    receiver_port = _free_port()
    picture = traveller_picture(data_dir)
    config = from_mapping(demo_config(data_dir, sims, receiver_port, picture), "<demo defaults>")
    # Logs go to stderr so the record table stays readable; nothing personal is in either.
    jsonlog.setup("error", sys.stderr)
    app = App(config, source="<demo defaults>")
    code = runner.run(app, lambda a: _show(a, sims, payloads, receiver_port, duration, sys.stdout))
    if code == 0:
        print(f"demo stopped: {app.store.writer.last_seq} records committed in {data_dir}")
    return code


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
