"""Dead letters and `midas-edge outbox`, run as a subprocess while the store is open."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.scheduler import SinkScheduler
from agent.sink import Delivery, Outcome, Outgoing
from edge.config import ForwardingConfig, SinkConfig
from tests.agent.support import Clock, Recorder, ScriptedSink, add_records, open_store, states

CLI_TIMEOUT_S = 60


def write_config(tmp_path: Path, data_dir: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[workstation]
id = "test-ws"
data_dir = "{data_dir}"

[storage]
quota = "1GiB"
min_free = 0

[[sinks]]
name = "nas"
kind = "nas"
target = "/srv/share"

[[sinks]]
name = "backup"
kind = "nas"
target = "/srv/backup"
required = false
"""
    )
    return path


def outbox(config: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    done = subprocess.run(
        [sys.executable, "-m", "edge", "outbox", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return done.returncode, rows, done.stderr


async def reject_even(batch: Sequence[Outgoing]) -> list[Delivery]:
    return [
        Delivery(o.seq, Outcome.REJECTED, reason="schema")
        if o.seq % 2 == 0
        else Delivery(o.seq, Outcome.DELIVERED, receipt="ok")
        for o in batch
    ]


async def test_dead_letters_are_listed_replayed_and_dropped(tmp_path: Path, data_dir: Path) -> None:
    config = write_config(tmp_path, data_dir)
    async with open_store(data_dir, [("nas", True), ("backup", False)]) as store:
        committed = await add_records(store, 6)
        sink = ScriptedSink("nas", default=reject_even)
        cfg = SinkConfig(name="nas", kind="nas", target="/srv/share")
        s = SinkScheduler(sink, cfg, ForwardingConfig(), store, Recorder(), clock=Clock())
        assert await s.step()

        code, rows, _ = outbox(config)  # status is the default
        assert code == 0
        by_sink = {r["sink"]: r for r in rows}
        assert by_sink["nas"]["backlog"] == 0
        assert (by_sink["nas"]["delivered"], by_sink["nas"]["dead"]) == (3, 3)
        assert by_sink["backup"]["backlog"] == 6
        assert by_sink["backup"]["oldest_undelivered_age_s"] > 0
        assert by_sink["backup"]["required"] is False

        code, rows, _ = outbox(config, "--sink", "nas", "dead")
        assert code == 0
        assert rows == [
            {
                "seq": seq,
                "id": committed[seq - 1].id,
                "sink": "nas",
                "reason": "schema",
                "attempts": 1,
            }
            for seq in (2, 4, 6)
        ]
        assert all(set(r) == {"seq", "id", "sink", "reason", "attempts"} for r in rows)

        assert outbox(config, "replay", "2")[:2] == (0, [{"replayed": 1}])
        assert outbox(config, "drop", "4", "--sink", "nas")[:2] == (0, [{"dropped": 1}])
        rows_by_seq = await states(store, "nas")
        assert rows_by_seq[2] == ("pending", 0, None)
        assert rows_by_seq[4][0] == "dropped"
        receipt = await store.query("SELECT receipt FROM deliveries WHERE seq = 4 AND sink='nas'")
        assert receipt == [("dropped by operator",)]

        # The daemon's writer goes on while (and after) the CLI wrote on its own connection.
        sink.default = ScriptedSink("x").default
        assert await s.step()
        assert (await states(store, "nas"))[2][0] == "delivered"

        assert outbox(config, "replay", "all")[:2] == (0, [{"replayed": 2}])  # 4 and 6
        code, _, err = outbox(config, "drop", "1")
        assert code == 1 and "no dead letter" in err
        code, _, err = outbox(config, "--sink", "nope", "status")
        assert code == 1 and "no sink named" in err
        code, _, err = outbox(config, "replay", "x")
        assert code == 1


def test_no_store_is_an_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "empty"
    data_dir.mkdir()
    code, _, err = outbox(write_config(tmp_path, data_dir), "status")
    assert code == 1 and "no record store" in err
