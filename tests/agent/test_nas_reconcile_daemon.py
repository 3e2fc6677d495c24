"""The daemon checks its NAS shares by itself: a real store, the real NAS sink on a temporary
share and a real Forwarder with a short `reconcile_every`; damage done by hand is found and
written again without any command, a purged record gone from the share raises an alarm."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent import nas_reconcile, outbox
from agent.forwarder import Forwarder
from agent.nas_reconcile import Report
from agent.nas_reconciler import ReconcileResult, ReconcileRun
from agent.nas_sink import UNMOUNTED_ENV, NasSink
from agent.sink_status import SinkState
from edge.alarms import Acknowledged
from edge.config import RECONCILE_EVERY_S, Config, from_mapping
from edge.errors import ConfigError
from edge.store import Store
from tests.agent.support import Recorder, add_records, open_store, states, wait_for
from tests.agent.test_nas_reconcile import hung_share
from tests.agent.test_nas_sink import share
from tests.helpers import config_dict, make_config, running, sim_device

WS = "test-ws"
BATCH = 4
EVERY_S = 0.1  # a check every tenth of a second: the tests wait for what the checks did


@dataclass
class Runs:
    """The reconcile observer: every run reported."""

    runs: list[ReconcileRun] = field(default_factory=list)

    def sink_reconciled(self, run: ReconcileRun) -> None:
        self.runs.append(run)

    def after(self, index: int) -> list[ReconcileRun]:
        return self.runs[index:]


@dataclass
class Daemon:
    root: Path
    store: Store
    forwarder: Forwarder
    runs: Runs
    task: asyncio.Task[None]

    @property
    def state(self) -> SinkState:
        return self.forwarder.schedulers[0].status.state

    async def all_delivered(self, count: int) -> bool:
        by_seq = await states(self.store, "nas")
        return len(by_seq) == count and {s for s, _, _ in by_seq.values()} == {"delivered"}

    def files_of(self, seq: int) -> tuple[Path, list[int]]:
        """The records file holding `seq`, and every seq the manifests place in it."""
        entries = [
            json.loads(line)
            for manifest in sorted((self.root / WS).rglob("manifest-*"))
            for line in manifest.read_text().splitlines()
        ]
        (name,) = {e["file"] for e in entries if e["seq"] == seq}
        return self.root / WS / name, sorted(e["seq"] for e in entries if e["file"] == name)


def nas_config(data_dir: Path, root: Path, every: float = EVERY_S) -> Config:
    sink = {
        "name": "nas",
        "kind": "nas",
        "target": str(root),
        "batch_records": BATCH,
        "reconcile_every": every,
        "timeout": 10.0,
    }
    return make_config(data_dir, sinks=[sink], forwarding={"backoff_base": 0.1, "backoff_cap": 0.5})


@contextlib.asynccontextmanager
async def daemon(data_dir: Path, root: Path, every: float = EVERY_S) -> AsyncIterator[Daemon]:
    """The forwarding part of the daemon, running over a real store and a temporary share."""
    config = nas_config(data_dir, root, every)
    async with open_store(data_dir, [("nas", True)]) as store:
        runs = Runs()
        forwarder = Forwarder(
            config,
            store,
            "key-1",
            Recorder(),
            sink_factory=lambda c: NasSink(c, WS, "key-1", require_mount=False),
            reconciled=runs,
        )
        task = asyncio.create_task(forwarder.run(), name="forwarder under test")
        try:
            yield Daemon(root, store, forwarder, runs, task)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_file_deleted_from_the_share_is_written_again_by_the_daemon(
    tmp_path: Path, data_dir: Path
) -> None:
    async with daemon(data_dir, share(tmp_path)) as d:
        assert [r.every_s for r in d.forwarder.reconcilers] == [EVERY_S]
        await add_records(d.store, 3 * BATCH)
        await wait_for(lambda: d.all_delivered(3 * BATCH))
        path, seqs = d.files_of(5)
        path.unlink()
        seen = len(d.runs.runs)

        def repaired() -> ReconcileRun | None:
            for run in d.runs.after(seen):
                if run.result is ReconcileResult.REPAIRED:
                    return run
            return None

        await wait_for(lambda: _true(repaired() is not None))
        run = repaired()
        assert run is not None and run.report is not None
        assert run.report.damaged.ranges == [[seqs[0], seqs[-1]]]
        assert (run.report.missing.count, run.report.lost.count) == (0, 0)
        assert run.report.requeued == len(seqs)
        # No command was run: the daemon sends them again and a later check finds all intact.
        await wait_for(lambda: d.all_delivered(3 * BATCH))
        seen = len(d.runs.runs)
        await wait_for(lambda: _true(_intact(d.runs.after(seen), 3 * BATCH)))
        assert not d.task.done()


async def test_a_failed_check_is_made_again_at_the_next_period(
    tmp_path: Path, data_dir: Path
) -> None:
    async with daemon(data_dir, share(tmp_path)) as d:
        await add_records(d.store, BATCH)
        await wait_for(lambda: d.all_delivered(BATCH))
        sentinel = d.root / ".midas-share"
        sentinel.unlink()  # nothing is pending: the sink has no reason to notice, the check does
        seen = len(d.runs.runs)
        await wait_for(lambda: _true(_failed(d.runs.after(seen)) is not None))
        failed = _failed(d.runs.after(seen))
        assert failed is not None and failed.report is None
        assert "sentinel file is missing" in failed.error
        assert d.state is SinkState.OK
        sentinel.write_text("share-uuid\n")
        seen = len(d.runs.runs)
        await wait_for(lambda: _true(_intact(d.runs.after(seen), BATCH)))
        assert not d.task.done()


async def test_no_check_while_the_share_is_unmounted(tmp_path: Path, data_dir: Path) -> None:
    root = share(tmp_path, sentinel=False)  # a bare mount point: the share is not there
    async with daemon(data_dir, root) as d:
        await add_records(d.store, BATCH)

        def skipped() -> list[ReconcileRun]:
            unavailable = "the sink is unavailable"
            return [
                r
                for r in d.runs.runs
                if r.result is ReconcileResult.SKIPPED and r.error == unavailable
            ]

        await wait_for(lambda: _true(len(skipped()) >= 2))
        first = d.runs.runs.index(skipped()[0])
        # Once the sink found the share away, no check is made until it is back.
        assert d.runs.after(first) == skipped()
        assert d.state is SinkState.UNAVAILABLE
        assert list(root.iterdir()) == []  # nothing written, nothing created

        (root / ".midas-share").write_text("share-uuid\n")  # mounted
        d.forwarder.wake()
        await wait_for(lambda: d.all_delivered(BATCH))
        seen = len(d.runs.runs)
        await wait_for(lambda: _true(_intact(d.runs.after(seen), BATCH)))


async def test_a_purged_record_gone_from_the_share_raises_the_alarm_and_the_event(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UNMOUNTED_ENV, "1")  # a plain directory stands in for the mount
    root = share(tmp_path)
    config = make_config(
        data_dir,
        devices=[sim_device("reader", interval=0.01, count=BATCH)],
        sinks=[
            {
                "name": "nas",
                "kind": "nas",
                "target": str(root),
                "batch_records": BATCH,
                # No periodic check during the test: the share is changed while no check runs
                # (a check may not see half a deletion), then the test makes one.
                "reconcile_every": 3600,
            }
        ],
        retention={"delivered_days": 0},
    )
    code = "share_lost:nas"
    async with running(config) as app:
        assert app.forwarder is not None
        forwarder = app.forwarder
        (reconciler,) = forwarder.reconcilers

        async def delivered() -> bool:
            rows = await app.store.query(
                "SELECT count(*) FROM deliveries WHERE sink = 'nas' AND state = 'delivered'"
            )
            return int(rows[0][0]) == BATCH

        async def checked() -> dict[str, Any]:
            """One check made now, through the daemon's own reconciler: its `reconcile` event."""
            with app.hub.subscribe() as events:
                await reconciler.run_once()
                async with asyncio.timeout(30):
                    while True:
                        event = await events.get()
                        assert event is not None
                        if event.type == "reconcile":
                            data: dict[str, Any] = json.loads(event.data)
                            return data

        await wait_for(delivered)
        assert await forwarder.retention.run_once() == BATCH  # purged: tombstones only
        manifests = sorted((root / WS).rglob("manifest-*"))
        kept = {m: m.read_bytes() for m in manifests}
        for manifest in manifests:
            manifest.unlink()
        data = await checked()
        assert data["sink"] == "nas" and data["result"] == "lost"
        assert (data["lost"], data["lost_seqs"], data["requeued"]) == (BATCH, [[1, BATCH]], None)
        assert (data["checked"], data["missing"], data["damaged"]) == (0, 0, 0)
        assert app.alarms.is_active(code)
        (alarm,) = [a for a in app.alarms.active() if a.code == code]
        assert f"{BATCH} records purged" in alarm.message and f"seqs 1-{BATCH}" in alarm.message
        metrics = app.metrics.render().decode()
        assert 'midas_nas_reconcile_total{result="lost",sink="nas"}' in metrics
        assert f'midas_nas_reconcile_lost_records{{sink="nas"}} {float(BATCH)}' in metrics
        assert 'midas_alarm_active{code="share_lost:nas"} 1.0' in metrics
        assert alarm.ack_required  # an event to be seen, not a condition that ends by itself

        # Acknowledged: the next check finds the same loss and stays quiet.
        assert app.alarms.acknowledge(code) is Acknowledged.DONE
        data = await checked()
        assert (data["result"], data["lost"], data["lost_seqs"]) == ("lost", BATCH, [[1, BATCH]])
        assert not app.alarms.is_active(code)

        # The share restored from a backup: the next check finds them all intact.
        for manifest, body in kept.items():
            manifest.write_bytes(body)
        data = await checked()
        assert (data["result"], data["lost"], data["checked"]) == ("intact", 0, 0)
        metrics = app.metrics.render().decode()
        assert 'midas_nas_reconcile_lost_records{sink="nas"} 0.0' in metrics
        assert not app.alarms.is_active(code)


def test_stopping_ends_a_check_of_a_hung_share(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = hung_share(data_dir, monkeypatch)
    config = nas_config(data_dir, share(tmp_path)).sinks[0]
    config = msgspec.structs.replace(config, timeout=60.0)
    stop = threading.Event()
    stop.set()  # the daemon is stopping
    conn = outbox.connect(data_dir)
    try:
        with pytest.raises(nas_reconcile.ReconcileError, match="stopped"):
            nas_reconcile.check(conn, config, WS, require_mount=False, stop=stop)
    finally:
        release.set()
        conn.close()


async def test_reconcile_every_is_checked(data_dir: Path) -> None:
    nas = {"name": "nas", "kind": "nas", "target": "/srv/nas"}
    http = {"name": "region", "kind": "http", "target": "http://region.example/"}
    config = make_config(data_dir, sinks=[nas, http])
    assert [s.reconcile_every for s in config.sinks] == [RECONCILE_EVERY_S, None]
    off = make_config(data_dir, sinks=[{**nas, "reconcile_every": 0}])
    assert off.sinks[0].reconcile_every == 0
    async with open_store(data_dir, [("nas", True)]) as store:
        assert Forwarder(off, store, "key", Recorder()).reconcilers == []
    bad = [
        ([{**nas, "reconcile_every": -1}], "sinks[0].reconcile_every", "0 (never) or more"),
        ([{**nas, "reconcile_every": float("inf")}], "sinks[0].reconcile_every", "or more"),
        ([{**nas, "reconcile_every": "24h"}], "sinks[0].reconcile_every", "float"),
        ([nas, {**http, "reconcile_every": 3600}], "sinks[1].reconcile_every", "nas sink"),
    ]
    for sinks, key, words in bad:
        with pytest.raises(ConfigError) as caught:
            from_mapping(config_dict(data_dir, sinks=sinks), "c.toml")
        assert caught.value.key == key
        assert words in caught.value.expected


def _intact(runs: list[ReconcileRun], count: int) -> bool:
    return any(
        r.result is ReconcileResult.INTACT
        and r.report is not None
        and (r.report.checked, r.report.intact, r.report.ok) == (count, count, True)
        for r in runs
    )


def _failed(runs: list[ReconcileRun]) -> ReconcileRun | None:
    return next((r for r in runs if r.result is ReconcileResult.FAILED), None)


async def _true(value: bool) -> bool:
    return value


async def test_a_new_loss_raises_the_alarm_again_after_an_acknowledged_one(
    data_dir: Path,
) -> None:
    def lost(*seqs: int) -> ReconcileRun:
        report = Report("nas")
        for seq in seqs:
            report.lost.add(seq)
        return ReconcileRun("nas", ReconcileResult.LOST, report)

    code = "share_lost:nas"
    async with running(make_config(data_dir)) as app:
        app.sink_reconciled(lost(4, 5))
        assert app.alarms.acknowledge(code) is Acknowledged.DONE
        app.sink_reconciled(lost(4, 5))  # the same loss: known, acknowledged
        assert not app.alarms.is_active(code)
        app.sink_reconciled(lost(4, 5, 9))  # more is gone: raised again
        (alarm,) = [a for a in app.alarms.active() if a.code == code]
        assert "3 records" in alarm.message and "seqs 4-5,9" in alarm.message
        app.sink_reconciled(ReconcileRun("nas", ReconcileResult.INTACT, Report("nas")))
        assert not app.alarms.is_active(code)
        app.sink_reconciled(lost(4, 5))  # lost again after being found: a new loss
        assert app.alarms.is_active(code)
