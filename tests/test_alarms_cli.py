"""`midas-edge alarms [ack CODE]` against the real daemon's local API."""

from __future__ import annotations

import argparse
import asyncio
import io
import socket
from pathlib import Path

from edge import alarms_cli
from edge.config import Config
from tests.helpers import make_config, running


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def cli(config: Config, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    alarms_cli.add_arguments(parser)
    args = parser.parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(alarms_cli.run, config, args, out, err)
    return code, out.getvalue(), err.getvalue()


async def test_alarms_are_listed_and_one_that_waits_is_acknowledged(data_dir: Path) -> None:
    config = make_config(data_dir, api={"listen": f"127.0.0.1:{free_port()}"})
    async with running(config) as app:
        assert await cli(config) == (0, "no active alarms\n", "")
        app.alarms.raise_(
            "share_lost:nas", "sink nas: 3 records lost (seqs 4-6)", ack_required=True
        )
        app.alarms.raise_("storage_full", "the disk is full")

        code, out, _ = await cli(config)
        assert code == 0
        assert "share_lost:nas (waits for an acknowledgement): sink nas: 3 records lost" in out
        assert "storage_full: the disk is full" in out

        # A condition clears by itself; an unknown code is not active: both refused, exit 1.
        code, _, err = await cli(config, "ack", "storage_full")
        assert code == 1 and "clears by itself" in err
        code, _, err = await cli(config, "ack", "no_such_alarm")
        assert code == 1 and "no such active alarm" in err

        assert await cli(config, "ack", "share_lost:nas") == (
            0,
            "share_lost:nas: acknowledged\n",
            "",
        )
        assert not app.alarms.is_active("share_lost:nas")
        assert app.alarms.is_active("storage_full")


async def test_without_a_daemon_the_cli_says_so(data_dir: Path) -> None:
    config = make_config(data_dir, api={"listen": f"127.0.0.1:{free_port()}"})
    for argv in ((), ("ack", "share_lost:nas")):
        code, out, err = await cli(config, *argv)
        assert (code, out) == (1, "") and "does not answer" in err
