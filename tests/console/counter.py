"""A border-post counter for the console tests and screenshots: the real daemon with a passport
reader and a boarding-pass scanner simulated byte for byte on ptys, optionally a camera (the
public-domain portrait pasted into synthetic frames), an alert list and a regional server that
cannot be reached (so records wait for the region)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.barcode.sim import BarcodeCdcSim
from drivers.base import HealthState
from drivers.camera.sim import CameraSim
from drivers.registry import Registry
from drivers.rte.sim import RteSim
from edge import demo_data
from edge.app import App
from edge.documents import mrz_gen
from edge.documents.bcbp_encode import encode_bcbp
from edge.documents.bcbp_gen import random_bcbp_fields
from tests.alerts.support import alerts_section, drop, signed_list
from tests.drivers.support import device, wait_for
from tests.helpers import make_config, running
from tests.portrait import scenes

PORTRAIT = {"duration": 2.0, "analysis_fps": 6.0, "good_score": 0.8}
# A regional server on the discard port of the loopback: every batch fails, the backlog stays.
REGION = {
    "name": "regional-server",
    "kind": "http",
    "target": "http://127.0.0.1:9/",
    "timeout": 1.0,
    "interval": 0.5,
}


def passport(
    surname: str = "ERIKSSON",
    given_names: str = "ANNA MARIA",
    number: str = "L898902C3",
    *,
    birth: dt.date = dt.date(1974, 8, 12),
    expiry: dt.date | None = None,
    sex: str = "F",
) -> str:
    """A TD3 passport of the ICAO specimen state UTO, valid for years unless `expiry` says."""
    today = dt.datetime.now(dt.UTC).date()
    return mrz_gen.td3(
        surname=surname,
        given_names=given_names,
        document_number=number,
        birth_date=birth,
        expiry_date=expiry or today.replace(year=today.year + 5),
        sex=sex,
    )


def expired_passport() -> str:
    today = dt.datetime.now(dt.UTC).date()
    return passport(
        "SPECIMEN",
        "KARL JOHAN",
        "X4R7TN2K1",
        birth=dt.date(1969, 2, 28),
        expiry=today - dt.timedelta(days=41),
        sex="M",
    )


def boarding_pass(name: str = "ERIKSSON/ANNA MARIA", legs: int = 2, seed: int = 9303) -> str:
    """A valid boarding pass of `legs` flights (fictional carriers' real codes) for `name`."""
    rng = random.Random(seed)  # fictional data, not secrets
    today = dt.datetime.now(dt.UTC).date()
    fields = random_bcbp_fields(rng, scan_date=today, legs=legs, conditional=False, security=False)
    fields["passenger_name"] = name[:20]
    return encode_bcbp(fields)


def wrong_check_digit(mrz: str) -> str:
    """The same zone with the document number's check digit changed."""
    top, bottom = mrz.split("\n")
    digit = "7" if bottom[9] != "7" else "3"
    return f"{top}\n{bottom[:9]}{digit}{bottom[10:]}"


@dataclass
class Counter:
    app: App
    reader: RteSim
    scanner: BarcodeCdcSim
    camera: CameraSim | None
    # VDS-NC visa seals signed by a throwaway signer the daemon trusts: a good one, an altered one.
    seals: list[str]

    def device(self, name: str) -> HealthState:
        return next(s for s in self.app.supervisors if s.config.name == name).health.state

    async def ready(self) -> None:
        names = [s.config.name for s in self.app.supervisors]
        await wait_for(lambda: all(self.device(n) is HealthState.READY for n in names), 20.0)


@asynccontextmanager
async def counter(
    tmp_path: Path,
    data_dir: Path,
    *,
    camera: bool = False,
    nobody_at_camera: bool = False,
    alert_key: Ed25519PrivateKey | None = None,
    alert_rows: list[dict[str, str]] | None = None,
    region: bool = False,
    seals: bool = False,
    workstation: str = "test-ws",
) -> AsyncIterator[Counter]:
    async with AsyncExitStack() as stack:
        reader = await stack.enter_async_context(RteSim(link=tmp_path / "mrz0", seed=1))
        scanner = await stack.enter_async_context(
            BarcodeCdcSim(link=tmp_path / "bc0", terminator="none", symbology="pdf417")
        )
        devices: list[dict[str, Any]] = [
            device("passport-reader", "mrz-rte", reader),
            device("boarding-scanner", "barcode-serial", scanner),
        ]
        cam = None
        sections: dict[str, Any] = {}
        if camera:
            frames = [scenes.scene(0.36, cx=0.5 + dx, seed=3) for dx in (-0.02, 0.0, 0.02, 0.0)]
            if nobody_at_camera:
                frames = [scenes.background(1280, 720, seed=s) for s in (1, 2)]
            cam = await stack.enter_async_context(
                CameraSim(tmp_path / "cam0", size=(1280, 720), fps=10, frames=frames)
            )
            options = {**cam.options(), "width": 1280, "height": 720, "frozen_after": 0.0}
            devices.append(
                {"name": "counter-camera", "driver": "camera", "url": cam.url, "options": options}
            )
            sections["portrait"] = PORTRAIT
        if alert_key is not None:
            listed = signed_list(alert_key, alert_rows, version=1)
            drop(data_dir / "alert-drop", "list-1.bin", listed)
            sections["alerts"] = alerts_section(alert_key)
        if region:
            sections["sinks"] = [REGION]
        signed: list[str] = []
        if seals:
            signers = tmp_path / "signers"
            signed = demo_data.seals(dt.datetime.now(dt.UTC).date(), signers)
            sections["documents"] = {"certs_dir": str(signers)}
        sections["workstation"] = {"id": workstation, "data_dir": str(data_dir)}
        config = make_config(data_dir, devices=devices, **sections)
        app = await stack.enter_async_context(running(config, Registry()))
        place = Counter(app, reader, scanner, cam, signed)
        await place.ready()
        yield place
