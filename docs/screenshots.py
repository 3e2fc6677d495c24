"""Screenshots of the officer console's main states, from synthetic data only.

Run from the repository root: `.venv/bin/python -m docs.screenshots [OUT_DIR]` (default `docs/`).
The real daemon runs with byte-level simulated devices (a passport reader and a boarding-pass
scanner on ptys, a camera replaying the public-domain sample portrait of edge/sample), and the
system's headless Chromium shows the console. Travellers are ICAO specimen-style fictional
people of the specimen state UTO, their zones generated with check digits by mrz_gen.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.alerts.support import STOLEN, WANTED, drop, signed_list, stolen_passport
from tests.console.browser import Console, console
from tests.console.counter import boarding_pass, counter, expired_passport, passport

# A fictional workstation at a port of the ICAO specimen state.
WORKSTATION = "uto-harbour-03"
SHOTS = (
    "console-valid.png",
    "console-expired.png",
    "console-alert.png",
    "console-unplugged.png",
    "console-late-hit.png",
)


async def _shot(view: Console, path: Path) -> None:
    await view.page.mouse.move(0, 0)
    await view.page.screenshot(path=str(path), full_page=False)
    size = (await asyncio.to_thread(path.stat)).st_size
    print(f"{path} ({size // 1024} KiB)")


async def valid(work: Path, out: Path) -> None:
    async with (
        counter(
            work, _data(work), workstation=WORKSTATION, camera=True, region=True, seals=True
        ) as place,
        console(place.app, work / "profile") as view,
    ):
        await place.reader.present(passport())
        await view.wait_text("#portrait-quality", "GOOD")
        await place.scanner.present(boarding_pass())
        await view.wait_text("#extras", "Boarding pass")
        place.scanner.symbology = "qr"
        await place.scanner.present(place.seals[0])
        await view.wait_text("#extras", "Signature valid")
        await view.wait_text("#forwarding", "not reachable")
        await _shot(view, out / SHOTS[0])


async def expired(work: Path, out: Path) -> None:
    async with (
        counter(work, _data(work), workstation=WORKSTATION, region=True) as place,
        console(place.app, work / "profile") as view,
    ):
        await place.reader.present(expired_passport())
        await view.wait_text("#verdict-word", "EXPIRED")
        await view.wait_text("#forwarding", "not reachable")
        await _shot(view, out / SHOTS[1])


async def alert(work: Path, out: Path) -> None:
    key = Ed25519PrivateKey.generate()
    async with (
        counter(work, _data(work), workstation=WORKSTATION, alert_key=key, region=True) as place,
        console(place.app, work / "profile") as view,
    ):
        await view.wait_text("#alert-list", "Alert list v1")
        await place.reader.present(stolen_passport())
        await view.wait_text("#alert-banner", "ALERT HIT")
        await view.wait_text("#forwarding", "not reachable")
        await _shot(view, out / SHOTS[2])


async def unplugged(work: Path, out: Path) -> None:
    async with (
        counter(work, _data(work), workstation=WORKSTATION, region=True) as place,
        console(place.app, work / "profile") as view,
    ):
        await place.reader.present(passport("NILSSON", "ERIK", "U7T2049K8", sex="M"))
        await view.wait_text("#verdict-word", "VALID")
        await place.reader.unplug()
        await view.wait_text('[data-device="passport-reader"]', "NOT CONNECTED")
        await view.wait_text("#forwarding", "not reachable")
        await _shot(view, out / SHOTS[3])


async def late_hit(work: Path, out: Path) -> None:
    key = Ed25519PrivateKey.generate()
    data = _data(work)
    async with (
        counter(
            work, data, workstation=WORKSTATION, alert_key=key, alert_rows=[WANTED], region=True
        ) as place,
        console(place.app, work / "profile") as view,
    ):
        await view.wait_text("#alert-list", "Alert list v1")
        await place.reader.present(stolen_passport())
        await view.wait_text("#alert-line", "no hit")
        # Headquarters' next list names that passport: found after the traveller left.
        drop(data / "alert-drop", "v2.bin", signed_list(key, [STOLEN, WANTED], version=2))
        await view.wait_text("#late-alerts", "LATE ALERT HIT")
        await place.reader.present(passport())
        await view.wait_text("#traveller-name", "ANNA MARIA ERIKSSON")
        await view.wait_text("#forwarding", "not reachable")
        await _shot(view, out / SHOTS[4])


def _data(work: Path) -> Path:
    path = work / "data"
    path.mkdir(mode=0o700)
    return path


async def main(out: Path) -> None:
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    for scene in (valid, expired, alert, unplugged, late_hit):
        with tempfile.TemporaryDirectory() as tmp:
            await scene(Path(tmp), out)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
