"""`midas-edge simulate PROFILE`: one byte-level device simulator, driven from the keyboard.

Technicians use it to try a driver configuration without the hardware: it creates the pty (or
socket), prints the `[[devices]]` entry that talks to it, and takes commands on stdin.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sys
from pathlib import Path
from typing import TextIO

from drivers.sim.device import SimDevice
from drivers.sim.profiles import BY_DRIVER, PROFILES, profile_class
from edge import demo_data

HELP = """commands:
  present [TEXT]    present TEXT (\\n between MRZ lines), or the next fictional specimen
  repeat N          present the next specimen N times in one go (a duplicate read)
  garbage [N]       send N random bytes of line noise
  truncate N        send only the first N bytes of the next specimen (a reset mid-message)
  chunks LOW HIGH [GAP_MS]   split writes into LOW..HIGH-byte chunks, up to GAP_MS apart
  unplug | replug   pull the cable / plug it back in (same stable path, new device node)
  fail N            refuse the next N host commands
  remove            take the document away
  sent              what the host has sent so far (hex)
  help | quit"""


def specimens(sim: SimDevice, today: dt.date) -> list[str]:
    """Fictional payloads this device can present."""
    if sim.carries == "barcode":
        return demo_data.boarding_passes(today)
    return demo_data.documents(today)


def config_snippet(sim: SimDevice, name: str) -> str:
    options = ", ".join(f"{k} = {_toml(v)}" for k, v in sim.options().items())
    return (
        f'[[devices]]\nname = "{name}"\ndriver = "{sim.driver}"\nurl = "{sim.url}"\n'
        f"options = {{ {options} }}"
    )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


async def handle(sim: SimDevice, line: str, next_specimen: itertools.cycle[str]) -> str | None:
    """Carry out one command; the text to show, or None to quit."""
    word, _, rest = line.strip().partition(" ")
    args = rest.split()
    if word in ("quit", "exit"):
        return None
    if word in ("", "help"):
        return HELP
    if word == "present":
        text = rest.replace("\\n", "\n") if rest else next(next_specimen)
        sent = await sim.present(text)
        return f"sent {len(sent)} bytes"
    if word == "repeat":
        sent = await sim.present(next(next_specimen), repeat=int(args[0]))
        return f"sent {len(sent)} bytes {args[0]} times"
    if word == "garbage":
        noise = await sim.inject_garbage(sim.rng.randbytes(int(args[0])) if args else None)
        return f"sent {len(noise)} bytes of noise"
    if word == "truncate":
        sent = await sim.present(next(next_specimen), truncate=int(args[0]))
        return f"sent {len(sent)} bytes of a cut message"
    if word == "chunks":
        gap = float(args[2]) / 1000 if len(args) > 2 else 0.0
        sim.set_chunking((int(args[0]), int(args[1])), (0.0, gap))
        return "chunking set"
    if word == "unplug":
        await sim.unplug()
        return "unplugged"
    if word == "replug":
        await sim.replug()
        return f"plugged in at {sim.url}"
    if word == "fail":
        sim.fail_next(int(args[0]))
        return f"the next {args[0]} commands will be refused"
    if word == "remove":
        await sim.remove()
        return "removed"
    if word == "sent":
        return bytes(sim.host_sent).hex(" ") or "(nothing)"
    return f"unknown command {word!r}; try help"


async def run(
    profile: str,
    link: Path | None,
    use_socket: bool,
    every: float | None,
    out: TextIO,
) -> int:
    """Run one simulator until `quit` (or end of input); exit status."""
    cls = profile_class(profile)
    if not cls.standalone:
        print(
            f"error: {profile} simulates a USB device inside one process only; "
            "see it in `midas-edge demo`",
            file=sys.stderr,
        )
        return 1
    sim = cls(link=link, socket=use_socket)
    next_specimen = itertools.cycle(specimens(sim, dt.datetime.now(dt.UTC).date()))
    async with sim:
        print(f"{profile}: {cls.description}", file=out)
        print(config_snippet(sim, profile), file=out)
        print("type help for commands", file=out, flush=True)
        pacer = asyncio.create_task(_pace(sim, every, next_specimen), name="simulate-pacer")
        try:
            while True:
                line = await asyncio.to_thread(sys.stdin.readline)
                if not line:
                    if every is None:
                        return 0
                    await pacer  # no keyboard: keep presenting until interrupted
                try:
                    answer = await handle(sim, line, next_specimen)
                except (ValueError, IndexError):
                    answer = "bad arguments; try help"
                except ConnectionError as exc:
                    answer = f"cannot send: {exc}"
                if answer is None:
                    return 0
                print(answer, file=out, flush=True)
        finally:
            pacer.cancel()


async def _pace(sim: SimDevice, every: float | None, specimens: itertools.cycle[str]) -> None:
    if every is None:
        return
    while True:
        await asyncio.sleep(every)
        if sim.plugged:
            await sim.present(next(specimens))


def main(profile: str, link: Path | None, use_socket: bool, every: float | None) -> int:
    if profile not in PROFILES and profile not in BY_DRIVER:
        known = ", ".join([*PROFILES, *BY_DRIVER])
        print(f"error: no simulator profile {profile!r} (known: {known})", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(profile, link, use_socket, every, sys.stdout))
    except KeyboardInterrupt:
        return 0
