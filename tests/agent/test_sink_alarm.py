"""A required sink whose oldest waiting record is `forwarding.alarm_after` old raises an alarm."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from agent.sink_status import SinkState, SinkStatus
from edge.errors import ConfigError
from tests.helpers import make_config, running, sim_device


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port  # nothing listens once the probe is closed


async def test_an_unreachable_required_sink_raises_and_clears_an_alarm(data_dir: Path) -> None:
    sinks = [
        {
            "name": "region",
            "kind": "http",
            "target": f"http://127.0.0.1:{closed_port()}/",
            "interval": 0.2,
            "timeout": 1.0,
        },
        {"name": "spare", "kind": "nas", "target": str(data_dir / "nas"), "required": False},
    ]
    config = make_config(
        data_dir,
        devices=[sim_device("reader", interval=0.05, count=1)],
        sinks=sinks,
        forwarding={"alarm_after": 0.5, "backoff_base": 0.1, "backoff_cap": 0.3},
    )
    async with running(config) as app, aiohttp.ClientSession() as http:
        async with asyncio.timeout(20):
            while not app.alarms.is_active("sink_behind:region"):
                await asyncio.sleep(0.05)
        async with http.get(app.api_url + "/v1/health") as resp:
            health = await resp.json()
        assert health["status"] == "degraded"
        (alarm,) = [a for a in health["alarms"] if a["code"] == "sink_behind:region"]
        assert "1 records wait on this workstation" in alarm["message"]
        # The optional sink is as far behind (its share is not mounted), but raises nothing.
        assert not app.alarms.is_active("sink_behind:spare")
        # A status with nothing waiting (the region took the backlog) clears the alarm.
        app.sink_changed(SinkStatus("region", SinkState.OK, 0, None))
        assert not app.alarms.is_active("sink_behind:region")


def test_alarm_after_is_checked(data_dir: Path) -> None:
    config = make_config(data_dir, forwarding={"alarm_after": 0})
    assert config.forwarding.alarm_after == 0
    with pytest.raises(ConfigError, match="alarm_after"):
        make_config(data_dir, forwarding={"alarm_after": -1})
