"""The delivery scheduler over a real store, with a sink the test scripts (a network double)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from agent.forwarder import Forwarder
from agent.scheduler import SinkScheduler
from agent.sink import (
    BatchTooLarge,
    Delivery,
    Outcome,
    Outgoing,
    Sink,
    SinkUnavailable,
    TransientError,
)
from agent.sink_status import SinkState
from edge.config import ForwardingConfig, SinkConfig
from edge.store import Store
from tests.agent.support import (
    WAIT_S,
    Clock,
    Recorder,
    ScriptedSink,
    add_records,
    fail_with,
    open_store,
    states,
    wait_for,
)
from tests.helpers import make_config


def sink_config(name: str = "a", **options: object) -> SinkConfig:
    return SinkConfig(name=name, kind="nas", target="/srv/share", **options)  # type: ignore[arg-type]  # options are typed by SinkConfig itself


def scheduler(
    store: Store,
    sink: Sink,
    clock: Clock,
    recorder: Recorder | None = None,
    *,
    forwarding: ForwardingConfig | None = None,
    **options: object,
) -> SinkScheduler:
    return SinkScheduler(
        sink,
        sink_config(sink.name, **options),
        forwarding or ForwardingConfig(backoff_base=1.0, backoff_cap=60.0),
        store,
        recorder or Recorder(),
        clock=clock,
    )


async def drain(s: SinkScheduler, limit: int = 100) -> None:
    for _ in range(limit):
        if not await s.step():
            return
    raise AssertionError("the backlog did not drain")


async def test_the_backlog_leaves_in_seq_order_in_batches(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 25)
        sink = ScriptedSink("a")
        rec = Recorder()
        s = scheduler(store, sink, Clock(), rec, batch_records=10)
        await drain(s)
        assert [len(b) for b in sink.batches] == [10, 10, 5]
        assert sink.seqs() == list(range(1, 26))
        rows = await store.query(
            "SELECT state, receipt, delivered_at FROM deliveries WHERE sink = 'a' ORDER BY seq"
        )
        assert {r[0] for r in rows} == {"delivered"}
        assert rows[0][1] == "r-1" and rows[0][2].endswith("Z")
        assert rec.delivered == 25
        assert s.status.state is SinkState.OK and s.status.backlog == 0


async def test_batches_close_at_the_byte_budget(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 6)
        sink = ScriptedSink("a")
        s = scheduler(store, sink, Clock(), batch_bytes=2500)
        sizes: list[int] = []

        async def measure(batch: Sequence[Outgoing]) -> list[Delivery]:
            sizes.append(sum(len(o.body) for o in batch))
            return [Delivery(o.seq, Outcome.DELIVERED) for o in batch]

        sink.default = measure
        await drain(s)
        assert len(sizes) > 1 and all(size <= 2500 for size in sizes)
        assert sink.seqs() == list(range(1, 7))


async def test_a_transient_failure_backs_off_then_the_backlog_goes_on(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 5)
        sink = ScriptedSink("a")
        sink.scripts.append(fail_with(TransientError("HTTP 503")))
        clock = Clock()
        rec = Recorder()
        s = scheduler(store, sink, clock, rec)
        assert not await s.step()
        assert s.status.state is SinkState.DEGRADED and "503" in s.status.error
        rows = await states(store, "a")
        assert {r[1] for r in rows.values()} == {1}
        due = await store.query("SELECT DISTINCT next_attempt_at FROM deliveries")
        assert len(due) == 1 and clock.now < float(due[0][0]) <= clock.now + 1.0  # base 1 s
        assert not await s.step()  # still backing off: the sink is not asked again
        assert len(sink.batches) == 1
        clock.now += 60
        await drain(s)
        assert rec.statuses[-1].state is SinkState.OK  # mypy narrowed s.status above
        assert {r[0] for r in (await states(store, "a")).values()} == {"delivered"}
        assert (rec.failed, rec.delivered) == (1, 5)


async def test_retry_after_is_honoured(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 3)
        sink = ScriptedSink("a")
        sink.scripts.append(fail_with(TransientError("HTTP 429", retry_after=42.0)))
        clock = Clock()
        s = scheduler(store, sink, clock)
        assert not await s.step()
        due = await store.query("SELECT DISTINCT next_attempt_at FROM deliveries")
        assert [float(d[0]) for d in due] == [clock.now + 42.0]
        clock.now += 41.9
        assert not await s.step()
        clock.now += 0.1
        await drain(s)
        assert sink.seqs() == [1, 2, 3, 1, 2, 3]


async def test_an_unavailable_target_counts_no_attempts(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 3)
        sink = ScriptedSink("a", default=fail_with(SinkUnavailable("share not mounted")))
        s = scheduler(store, sink, Clock(), forwarding=ForwardingConfig(max_attempts=1))
        assert not await s.step()
        assert s.status.state is SinkState.UNAVAILABLE
        assert {r[:2] for r in (await states(store, "a")).values()} == {("pending", 0)}


async def test_partial_answers_rejections_and_silence(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 4)

        async def mixed(batch: Sequence[Outgoing]) -> list[Delivery]:
            return [
                Delivery(1, Outcome.DELIVERED, receipt="ok-1"),
                Delivery(2, Outcome.REJECTED, reason="schema"),
                Delivery(4, Outcome.DELIVERED, receipt="ok-4"),
                Delivery(99, Outcome.DELIVERED, receipt="not in the batch"),
            ]

        sink = ScriptedSink("a", default=mixed)
        clock = Clock()
        rec = Recorder()
        s = scheduler(store, sink, clock, rec)
        assert await s.step()
        rows = await states(store, "a")
        assert rows[1] == ("delivered", 0, None)
        assert rows[2] == ("dead", 1, "schema")
        assert rows[3] == ("pending", 1, "no answer")
        assert rows[4] == ("delivered", 0, None)
        assert (rec.delivered, rec.rejected) == (2, 1)
        assert not await s.step()  # seq 3 waits for its own backoff, nothing else is due
        clock.now += 60
        sink.default = ScriptedSink("x").default
        await drain(s)
        assert (await states(store, "a"))[3][0] == "delivered"
        assert (await states(store, "a"))[2][0] == "dead"  # dead letters are never retried


async def test_too_many_attempts_make_a_dead_letter(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 2)
        sink = ScriptedSink("a", default=fail_with(TransientError("timeout")))
        clock = Clock()
        rec = Recorder()
        s = scheduler(store, sink, clock, rec, forwarding=ForwardingConfig(max_attempts=2))
        assert not await s.step()
        clock.now += 1000
        assert not await s.step()
        rows = await states(store, "a")
        assert rows == {1: ("dead", 2, "too many attempts"), 2: ("dead", 2, "too many attempts")}
        assert rec.rejected == 2


async def test_a_batch_too_large_is_halved(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 10)

        async def at_most_three(batch: Sequence[Outgoing]) -> list[Delivery]:
            if len(batch) > 3:
                raise BatchTooLarge("HTTP 413")
            return [Delivery(o.seq, Outcome.DELIVERED) for o in batch]

        sink = ScriptedSink("a", default=at_most_three)
        s = scheduler(store, sink, Clock(), batch_records=10)
        await drain(s)
        assert {r[0] for r in (await states(store, "a")).values()} == {"delivered"}
        assert [len(b) for b in sink.batches][:3] == [10, 5, 2]


async def test_a_single_record_too_large_is_a_dead_letter(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 1)
        sink = ScriptedSink("a", default=fail_with(BatchTooLarge("HTTP 413")))
        s = scheduler(store, sink, Clock())
        await drain(s)
        assert (await states(store, "a"))[1] == ("dead", 1, "too large")


async def test_new_commits_wake_the_scheduler(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        sink = ScriptedSink("a")
        s = SinkScheduler(
            sink, sink_config("a", interval=3600.0), ForwardingConfig(), store, Recorder()
        )
        task = asyncio.create_task(s.run())
        try:
            await wait_for(lambda: _true(s.status.state is SinkState.OK))
            await add_records(store, 3)
            # interval is an hour: only the commit's wake-up can send them within WAIT_S.
            await wait_for(lambda: _true(len(sink.seqs()) == 3))
            assert sink.seqs() == [1, 2, 3]
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _true(value: bool) -> bool:
    return value


async def test_no_head_of_line_blocking_between_sinks(data_dir: Path) -> None:
    hung = asyncio.Event()

    async def never(batch: Sequence[Outgoing]) -> list[Delivery]:
        await hung.wait()
        return []

    sinks = {"slow": ScriptedSink("slow", default=never), "fast": ScriptedSink("fast")}
    config = make_config(
        data_dir,
        sinks=[
            {"name": "slow", "kind": "nas", "target": "/srv/a"},
            {"name": "fast", "kind": "nas", "target": "/srv/b"},
        ],
    )
    async with open_store(data_dir, [("slow", True), ("fast", True)]) as store:
        forwarder = Forwarder(
            config, store, "key", Recorder(), sink_factory=lambda c: sinks[c.name]
        )
        task = asyncio.create_task(forwarder.run())
        try:
            await add_records(store, 20)
            await add_records(store, 20, start=20)

            async def fast_done() -> bool:
                rows = await states(store, "fast")
                return len(rows) == 40 and {r[0] for r in rows.values()} == {"delivered"}

            await wait_for(fast_done)
            assert {r[0] for r in (await states(store, "slow")).values()} == {"pending"}
            assert forwarder.snapshot()["fast"] == {
                "state": "ok",
                "backlog": 0,
                "oldest_age_s": None,
                "required": True,
                "error": None,
            }
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        # Cancelled mid-send: nothing half-applied, the slow sink's records are still pending.
        assert {r[:2] for r in (await states(store, "slow")).values()} == {("pending", 0)}
        assert sinks["slow"].closed == sinks["fast"].closed == 1


async def test_a_batch_never_mixes_signing_keys(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        await add_records(store, 5)
        (first_key,) = {str(r[0]) for r in await store.query("SELECT key_id FROM seals")}
        # The workstation's key was replaced after record 3: a new chain under a new key.
        await store.apply([("UPDATE seals SET key_id = 'k-new' WHERE seq > ?", [(3,)])])
        sink = ScriptedSink("a")
        keys: list[set[str]] = []

        async def note_keys(batch: Sequence[Outgoing]) -> list[Delivery]:
            keys.append({o.key_id for o in batch})
            return [Delivery(o.seq, Outcome.DELIVERED) for o in batch]

        sink.default = note_keys
        await drain(scheduler(store, sink, Clock(), batch_records=10))
        assert sink.batches == [[1, 2, 3], [4, 5]]
        assert keys == [{first_key}, {"k-new"}]


async def test_a_cancel_that_meets_a_wake_up_still_stops_the_loop(data_dir: Path) -> None:
    async with open_store(data_dir, [("a", True)]) as store:
        sink = ScriptedSink("a")
        s = SinkScheduler(
            sink, sink_config("a", interval=3600.0), ForwardingConfig(), store, Recorder()
        )
        for _ in range(20):  # the race is a matter of one loop turn: try it several times
            task = asyncio.create_task(s.run())
            await wait_for(lambda: _true(s.status.state is SinkState.OK))
            for _ in range(5):
                await asyncio.sleep(0)  # waiting for a wake-up by now
            s.wake()  # the wait ends in this very turn ...
            task.cancel()  # ... as the stop arrives: the stop must not be lost
            done, _ = await asyncio.wait({task}, timeout=WAIT_S)
            assert task in done and task.cancelled()
