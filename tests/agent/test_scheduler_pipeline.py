"""The delivery loop sends the next batch while the previous batch's outcomes commit, without
ever sending a record twice, out of order, or writing outcomes out of order.

The store is real; its `apply` is held at a gate the test opens, to pin the interleaving.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.scheduler import SinkScheduler
from agent.sink import TransientError
from agent.sink_status import SinkState
from edge.config import ForwardingConfig, SinkConfig
from edge.store import Store
from tests.agent.support import (
    Clock,
    Recorder,
    Script,
    ScriptedSink,
    add_records,
    deliver_all,
    fail_with,
    open_store,
    sealed_up_to,
    states,
    wait_for,
)


class GatedApply:
    """Holds each `Store.apply` until the test lets it through; records what each one wrote."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self._real = store.apply
        self.waiting: list[asyncio.Event] = []
        self.written: list[list[int]] = []  # the seqs each apply touched, in commit order
        self.open = False
        monkeypatch.setattr(store, "apply", self.apply)

    async def apply(self, statements: Sequence[tuple[str, Sequence[Sequence[object]]]]) -> None:
        gate = asyncio.Event()
        if self.open:
            gate.set()
        self.waiting.append(gate)
        await gate.wait()
        await self._real(statements)
        self.written.append(sorted(_seq(row[-1]) for _, rows in statements for row in rows))

    def release_all(self) -> None:
        self.open = True
        for gate in self.waiting:
            gate.set()


@dataclass
class Running:
    store: Store
    gate: GatedApply
    sink: ScriptedSink
    scheduler: SinkScheduler
    task: asyncio.Task[None]


@contextlib.asynccontextmanager
async def running(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, records: int, scripts: Sequence[Script] = ()
) -> AsyncIterator[Running]:
    """A sealed backlog of `records`, the gate on the store, and the scheduler's loop running
    (batches of 10) over a sink that answers `scripts` first, then delivers."""
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, records)
        await wait_for(lambda: sealed_up_to(store, records))
        gate = GatedApply(store, monkeypatch)
        sink = ScriptedSink("a")
        sink.scripts = list(scripts)
        config = SinkConfig(name="a", kind="nas", target="/srv/share", batch_records=10)
        forwarding = ForwardingConfig(backoff_base=1.0, backoff_cap=60.0)
        s = SinkScheduler(sink, config, forwarding, store, Recorder(), clock=Clock())
        task = asyncio.create_task(s.run())
        try:
            yield Running(store, gate, sink, s, task)
        finally:
            task.cancel()
            gate.release_all()
            await asyncio.gather(task, return_exceptions=True)


async def test_the_next_batch_leaves_while_the_previous_outcomes_commit(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(data_dir, monkeypatch, 35) as r:
        # Batch 1's outcomes are held: batch 2 is loaded and sent meanwhile, and batch 3
        # waits, since outcomes commit in the order their batches were sent.
        await wait_for(lambda: _true(len(r.sink.batches) == 2))
        for _ in range(3):  # a load of batch 3 would go through this same reader connection
            await r.store.query("SELECT 1")
            await asyncio.sleep(0)
        assert r.sink.batches == [list(range(1, 11)), list(range(11, 21))]
        assert len(r.gate.waiting) == 1 and not r.gate.written
        assert {st for st, *_ in (await states(r.store, "a")).values()} == {"pending"}

        # Batch 1's outcomes commit: batch 2's settle starts and is held; batch 3 leaves meanwhile.
        r.gate.waiting[0].set()
        await wait_for(lambda: _true(len(r.sink.batches) == 3 and len(r.gate.waiting) == 2))
        assert r.gate.written == [list(range(1, 11))]
        assert r.sink.batches[2] == list(range(21, 31))
        rows = await states(r.store, "a")
        assert {seq for seq, row in rows.items() if row[0] == "delivered"} == set(range(1, 11))
        r.gate.release_all()

        async def all_delivered() -> bool:
            rows = await states(r.store, "a")
            return len(rows) == 35 and {row[0] for row in rows.values()} == {"delivered"}

        await wait_for(all_delivered)
    assert r.sink.seqs() == list(range(1, 36))  # each record once, in order
    assert r.gate.written[:4] == [
        list(range(1, 11)),
        list(range(11, 21)),
        list(range(21, 31)),
        list(range(31, 36)),
    ]


async def test_a_failed_batch_waits_for_the_outcomes_of_the_one_before(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = [deliver_all, fail_with(TransientError("HTTP 503"))]
    async with running(data_dir, monkeypatch, 20, scripts) as r:
        await wait_for(lambda: _true(len(r.sink.batches) == 2))
        r.gate.release_all()
        await wait_for(lambda: _true(r.scheduler.status.state is SinkState.DEGRADED))
        rows = await states(r.store, "a")
    # Batch 1 delivered; batch 2 failed as a whole and counts one attempt per record.
    assert {seq for seq, row in rows.items() if row[0] == "delivered"} == set(range(1, 11))
    assert {seq: row[:2] for seq, row in rows.items() if seq > 10} == {
        seq: ("pending", 1) for seq in range(11, 21)
    }
    assert r.gate.written[0] == list(range(1, 11))


async def test_a_stopping_loop_lets_the_last_outcomes_commit(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(data_dir, monkeypatch, 5) as r:
        await wait_for(lambda: _true(len(r.gate.waiting) == 1))
        r.task.cancel()
        await asyncio.sleep(0)
        r.gate.release_all()
        await asyncio.gather(r.task, return_exceptions=True)
        rows = await states(r.store, "a")
        assert {row[0] for row in rows.values()} == {"delivered"}


async def _true(value: bool) -> bool:
    return value


def _seq(value: object) -> int:
    assert isinstance(value, int)
    return value
