"""The delivery loop sends the next batch while the previous batch's outcomes commit, without
ever sending a record twice, out of order, or writing outcomes out of order.

The store is real; its `apply` is held at a gate the test opens, to pin the interleaving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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


def run_scheduler(store: Store, sink: ScriptedSink, clock: Clock) -> SinkScheduler:
    config = SinkConfig(name=sink.name, kind="nas", target="/srv/share", batch_records=10)
    return SinkScheduler(
        sink,
        config,
        ForwardingConfig(backoff_base=1.0, backoff_cap=60.0),
        store,
        Recorder(),
        clock=clock,
    )


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_next_batch_leaves_while_the_previous_outcomes_commit(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 35)
        await wait_for(lambda: sealed_up_to(store, 35))
        gate = GatedApply(store, monkeypatch)
        sink = ScriptedSink("a")
        s = run_scheduler(store, sink, Clock())
        task = asyncio.create_task(s.run())
        try:
            # Batch 1's outcomes are held: batch 2 is loaded and sent meanwhile, and batch 3
            # waits, since outcomes commit in the order their batches were sent.
            await wait_for(lambda: _true(len(sink.batches) == 2))
            for _ in range(20):
                await asyncio.sleep(0)
            assert sink.batches == [list(range(1, 11)), list(range(11, 21))]
            assert len(gate.waiting) == 1 and not gate.written
            assert {st for st, *_ in (await states(store, "a")).values()} == {"pending"}
            gate.release_all()

            async def all_delivered() -> bool:
                rows = await states(store, "a")
                return len(rows) == 35 and {r[0] for r in rows.values()} == {"delivered"}

            await wait_for(all_delivered)
        finally:
            await _stop(task)
        assert sink.seqs() == list(range(1, 36))  # each record once, in order
        assert gate.written[:4] == [
            list(range(1, 11)),
            list(range(11, 21)),
            list(range(21, 31)),
            list(range(31, 36)),
        ]


async def test_a_failed_batch_waits_for_the_outcomes_of_the_one_before(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 20)
        await wait_for(lambda: sealed_up_to(store, 20))
        gate = GatedApply(store, monkeypatch)
        sink = ScriptedSink("a")
        sink.scripts = [deliver_all, fail_with(TransientError("HTTP 503"))]
        clock = Clock()
        s = run_scheduler(store, sink, clock)
        task = asyncio.create_task(s.run())
        try:
            await wait_for(lambda: _true(len(sink.batches) == 2))
            gate.release_all()
            await wait_for(lambda: _true(s.status.state is SinkState.DEGRADED))
            rows = await states(store, "a")
        finally:
            await _stop(task)
        # Batch 1 delivered; batch 2 failed as a whole and counts one attempt per record.
        assert {seq for seq, r in rows.items() if r[0] == "delivered"} == set(range(1, 11))
        assert {seq: r[:2] for seq, r in rows.items() if seq > 10} == {
            seq: ("pending", 1) for seq in range(11, 21)
        }
        assert gate.written[0] == list(range(1, 11))


async def test_a_stopping_loop_lets_the_last_outcomes_commit(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 5)
        await wait_for(lambda: sealed_up_to(store, 5))
        gate = GatedApply(store, monkeypatch)
        sink = ScriptedSink("a")
        s = run_scheduler(store, sink, Clock())
        task = asyncio.create_task(s.run())
        await wait_for(lambda: _true(len(gate.waiting) == 1))
        task.cancel()
        await asyncio.sleep(0)
        gate.release_all()
        await asyncio.gather(task, return_exceptions=True)
        rows = await states(store, "a")
        assert {r[0] for r in rows.values()} == {"delivered"}


async def _true(value: bool) -> bool:
    return value


def _seq(value: object) -> int:
    assert isinstance(value, int)
    return value
