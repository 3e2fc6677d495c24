"""`midas-edge devices` (live state, probing, known drivers) and `midas-edge simulate`."""

from __future__ import annotations

import asyncio
import io
import itertools
import socket
import subprocess
import sys
from pathlib import Path

from drivers.base import HealthState
from drivers.registry import Registry
from drivers.rte.driver import RteDriver
from drivers.rte.sim import RteSim
from drivers.sim.driver import SimDriver
from drivers.sim.profiles import PROFILES, profile_class
from drivers.testing import next_capture
from edge import devices_cli, simulate
from edge.documents.mrz_gen import random_mrz
from tests.helpers import make_config, running


def registry() -> Registry:
    reg = Registry()
    reg.register("mrz-rte", RteDriver)
    reg.register("sim", SimDriver)
    return reg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_devices_shows_the_running_daemons_state(tmp_path: Path, data_dir: Path) -> None:
    async with RteSim(link=tmp_path / "rte0") as sim:
        config = make_config(
            data_dir,
            api={"listen": f"127.0.0.1:{free_port()}"},
            devices=[
                {"name": "reader", "driver": "mrz-rte", "url": sim.url},
                {"name": "spare", "driver": "sim", "url": "sim://spare", "enabled": False},
            ],
        )
        async with running(config, registry()) as app:
            (sup,) = app.supervisors
            async with asyncio.timeout(10):
                while sup.health.state is not HealthState.READY:
                    await asyncio.sleep(0.01)
            out = io.StringIO()
            code = await asyncio.to_thread(devices_cli.show, config, registry(), out)
    text = out.getvalue()
    assert code == 0
    assert f"reader: driver mrz-rte, {sim.url} — ready, 0 reads, 0 errors" in text
    assert "spare: driver sim, sim://spare (disabled)" in text
    assert "mrz-rte: RTE Native sends one unsolicited frame per read" in text
    assert "no live state" not in text


async def test_devices_without_a_daemon_probes_on_request(tmp_path: Path, data_dir: Path) -> None:
    async with RteSim(link=tmp_path / "rte0") as sim, RteSim(link=tmp_path / "rte1") as idle:
        config = make_config(
            data_dir,
            devices=[
                {"name": "reader", "driver": "mrz-rte", "url": sim.url},
                {"name": "silent", "driver": "mrz-rte", "url": idle.url},
            ],
        )

        async def keep_presenting() -> None:
            while True:
                await asyncio.sleep(0.1)
                await sim.present(random_mrz(sim.rng, "td3"))

        presenter = asyncio.create_task(keep_presenting())
        try:
            out = io.StringIO()
            code = await asyncio.to_thread(devices_cli.show, config, registry(), out, probe=True)
        finally:
            presenter.cancel()
    text = out.getvalue()
    assert code == 1  # one device did not answer
    assert "reader: driver mrz-rte" in text and "— answers" in text
    assert "silent: driver mrz-rte" in text and "— does not answer" in text
    assert "no live state" in text


async def test_simulate_commands_drive_the_device(tmp_path: Path) -> None:
    async with RteSim(link=tmp_path / "rte0") as sim, RteDriver(sim.url, sim.options()) as drv:
        events = drv.events()
        docs = itertools.cycle([random_mrz(sim.rng, "td3")])
        # SOH, length word, 'O', 'U', STX, flag; three lines with their CR (the first empty); ETX
        assert await simulate.handle(sim, "present", docs) == f"sent {7 + 1 + 45 + 45 + 1} bytes"
        capture, _ = await next_capture(events)
        assert capture.text is not None
        assert capture.text.startswith("P")
        assert (await simulate.handle(sim, "garbage 5", docs) or "").startswith("sent 5 bytes")
        await simulate.handle(sim, "present A\\nB", docs)
        capture, notices = await next_capture(events)
        assert [n.code for n in notices] == ["noise"]
        assert capture.text == "A\nB"
        assert await simulate.handle(sim, "chunks 1 3 2", docs) == "chunking set"
        assert await simulate.handle(sim, "bogus", docs) == "unknown command 'bogus'; try help"
        assert "present [TEXT]" in (await simulate.handle(sim, "help", docs) or "")
        assert await simulate.handle(sim, "unplug", docs) == "unplugged"
        assert not (tmp_path / "rte0").exists()
        assert await simulate.handle(sim, "replug", docs) == f"plugged in at {tmp_path / 'rte0'}"
        assert await simulate.handle(sim, "quit", docs) is None


def test_config_snippet_is_a_device_entry(tmp_path: Path) -> None:
    sim = RteSim(link=tmp_path / "rte0", bcc=True)
    snippet = simulate.config_snippet(sim, "reader")
    assert 'driver = "mrz-rte"' in snippet
    assert f'url = "{tmp_path / "rte0"}"' in snippet
    assert "bcc = true" in snippet and 'mode = "native"' in snippet


def test_simulate_takes_a_profile_or_a_driver_name() -> None:
    assert profile_class("mrz-rte") is profile_class("rte-native")
    for name in (*PROFILES, "mrz-line", "access-stx", "barcode-serial", "barcode-hidpos"):
        assert profile_class(name).profile in PROFILES


def test_simulate_runs_as_a_command(tmp_path: Path) -> None:
    link = tmp_path / "mrz0"
    result = subprocess.run(
        [sys.executable, "-m", "edge", "simulate", "mrz-rte", "--link", str(link)],
        input="present\ngarbage 4\nsent\nquit\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert 'driver = "mrz-rte"' in result.stdout
    assert f'url = "{link}"' in result.stdout
    assert "sent 99 bytes" in result.stdout  # the first specimen is a TD3 passport
    assert "sent 4 bytes of noise" in result.stdout
    assert "(nothing)" in result.stdout  # a native RTE reader is sent no commands
    bad = subprocess.run(
        [sys.executable, "-m", "edge", "simulate", "no-such"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "no simulator profile" in bad.stderr
