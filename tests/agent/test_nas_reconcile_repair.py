"""A repair re-queues in short transactions: `REQUEUE_ROWS` records at most in each, by seq range;
the daemon's through its store's own writer, the command's on its own connection."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from agent import nas_reconcile, outbox
from agent.nas_reconcile import REQUEUE_SQL, Report, Seqs
from agent.nas_reconciler import ReconcileResult
from edge.store import Store
from edge.store.writer import Statement
from tests.agent.support import add_records, wait_for
from tests.agent.test_nas_reconcile import (
    BATCH,
    WS,
    empty_store,
    flip,
    manifest_deleted,
    post,
    records_file_deleted,
)
from tests.agent.test_nas_reconcile_daemon import daemon
from tests.agent.test_nas_sink import share

ROWS = 3  # a batch this small splits the few records of a test as a wiped share's would be


def batches(missing: list[list[int]], damaged: list[list[int]]) -> list[list[tuple[int, int]]]:
    report = Report("nas")
    for seqs, ranges in ((report.missing, missing), (report.damaged, damaged)):
        for first, last in ranges:
            for seq in range(first, last + 1):
                seqs.add(seq)
    out = []
    for rows in nas_reconcile.requeue_batches(report):
        assert {sink for sink, _, _ in rows} == {"nas"}
        out.append([(first, last) for _, first, last in rows])
    return out


def test_a_repair_is_cut_into_batches_of_at_most_requeue_rows() -> None:
    rows = nas_reconcile.REQUEUE_ROWS
    wiped = batches([[1, 2 * rows + 500]], [])
    assert wiped == [[(1, rows)], [(rows + 1, 2 * rows)], [(2 * rows + 1, 2 * rows + 500)]]
    # Missing and damaged ranges together, in seq order, a range cut where a batch is full.
    mixed = batches([[5, 8], [rows + 7, rows + 7]], [[1, 3], [10, rows + 5]])
    assert mixed == [
        [(1, 3), (5, 8), (10, rows + 2)],  # 3 + 4 + (rows - 7): full
        [(rows + 3, rows + 5), (rows + 7, rows + 7)],
    ]
    assert batches([], []) == []


async def test_the_command_re_queues_in_one_short_transaction_per_batch(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nas_reconcile, "REQUEUE_ROWS", ROWS)
    async with post(tmp_path, data_dir) as p:
        await p.capture(3 * BATCH, images=False)
        await p.deliver()
        p.manifest_of(1).unlink()  # 1-4 missing
        records_file_deleted(p)  # 5-8 damaged
        entry = p.entry(10)
        flip(p.path(entry["file"]), entry["offset"] + 1)  # 10 damaged

        def repair() -> tuple[Report, list[str]]:
            conn = outbox.connect(data_dir)
            statements: list[str] = []
            conn.set_trace_callback(statements.append)
            try:
                report = nas_reconcile.check(conn, p.config, WS, require_mount=False)
                report.requeued = outbox.requeue(conn, report)
                return report, statements
            finally:
                conn.close()

        report, statements = await asyncio.to_thread(repair)
        assert (report.missing.ranges, report.damaged.ranges) == ([[1, 4]], [[5, 8], [10, 10]])
        assert report.requeued == 9
        # 9 records, at most 3 in each transaction: 3 transactions, all committed.
        assert statements.count("BEGIN IMMEDIATE") == 3
        assert statements.count("COMMIT") == 3
        assert await p.undelivered() == [1, 2, 3, 4, 5, 6, 7, 8, 10]
        await p.deliver()
        again = await p.reconcile()
        assert (again.checked, again.intact, again.ok) == (3 * BATCH, 3 * BATCH, True)


async def test_a_record_purged_since_the_check_is_not_re_queued(
    tmp_path: Path, data_dir: Path
) -> None:
    async with post(tmp_path, data_dir) as p:
        await p.capture(2 * BATCH, images=False)
        await p.deliver()
        manifest_deleted(p)  # 5-8 missing
        conn = outbox.connect(data_dir)
        try:
            report = nas_reconcile.check(conn, p.config, WS, require_mount=False)
            assert report.missing.ranges == [[5, 8]]
            # Retention purges seq 6 between the check and the repair.
            await p.store.apply(
                [("UPDATE records SET purged_at = '2030-01-01T00:00:00.000Z' WHERE seq = 6", [()])]
            )
            assert outbox.requeue(conn, report) == 3
        finally:
            conn.close()
        assert await p.undelivered() == [5, 7, 8]


def test_the_daemon_reads_the_store_on_a_connection_that_cannot_write(data_dir: Path) -> None:
    asyncio.run(empty_store(data_dir))
    conn = outbox.connect(data_dir, read_only=True)
    try:
        conn.execute("CREATE TEMP TABLE t (seq INTEGER)")  # the check's bookkeeping
        conn.execute("INSERT INTO temp.t SELECT seq FROM records")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("UPDATE deliveries SET state = 'pending'")
    finally:
        conn.close()


async def test_the_daemon_re_queues_through_its_store_in_batches(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nas_reconcile, "REQUEUE_ROWS", ROWS)
    # What the real store is asked to apply, and whether the check's own connection can write:
    # both delegate to the real code.
    applied: list[tuple[Store, list[tuple[str, int, int]]]] = []
    real_apply = Store.apply

    async def apply(self: Store, statements: Sequence[Statement]) -> int:
        for sql, rows in statements:
            if sql == REQUEUE_SQL:  # rows of (sink, first seq, last seq)
                applied.append((self, cast("list[tuple[str, int, int]]", list(rows))))
        return await real_apply(self, statements)

    writes: list[str] = []
    real_check = nas_reconcile.check

    def check(conn: sqlite3.Connection, *args: Any, **kwargs: Any) -> Report:
        try:  # a statement that would change nothing, yet needs a writable database
            conn.execute("UPDATE deliveries SET state = state WHERE 0")
        except sqlite3.OperationalError as exc:
            writes.append("refused" if "readonly" in str(exc) else str(exc))
        else:
            writes.append("written")
        return real_check(conn, *args, **kwargs)

    monkeypatch.setattr(Store, "apply", apply)
    monkeypatch.setattr(nas_reconcile, "check", check)
    # No periodic check during the test: the share is damaged first, then one check is made.
    async with daemon(data_dir, share(tmp_path), every=3600.0) as d:
        await add_records(d.store, 3 * BATCH)
        await wait_for(lambda: d.all_delivered(3 * BATCH))
        files = {d.files_of(seq)[0]: d.files_of(seq)[1] for seq in (1, 3 * BATCH)}
        for path in files:
            path.unlink()
        wanted = sorted({seq for seqs in files.values() for seq in seqs})
        assert len(wanted) > ROWS

        run = await d.forwarder.reconcilers[0].run_once()
        assert run.result is ReconcileResult.REPAIRED and run.report is not None
        expected = Seqs()
        for seq in wanted:
            expected.add(seq)
        assert run.report.damaged == expected
        assert run.report.requeued == len(wanted)
        assert run in d.runs.runs
        await wait_for(lambda: d.all_delivered(3 * BATCH))
        again = await d.forwarder.reconcilers[0].run_once()
        assert again.result is ReconcileResult.INTACT
        assert not d.task.done()
    # Checked once the daemon stopped (a failure here leaves no delivery running meanwhile).
    # Both checks read on a connection that refuses writes.
    assert writes == ["refused"] * 2
    # Every record re-queued by the daemon's own store, at most ROWS in each transaction, and
    # nothing more at the second check.
    assert applied and all(store is d.store for store, _ in applied)
    sizes = [sum(last - first + 1 for _, first, last in rows) for _, rows in applied]
    assert len(applied) >= math.ceil(len(wanted) / ROWS)
    assert max(sizes) <= ROWS
    ranges = [(first, last) for _, rows in applied for _, first, last in rows]
    assert sorted(seq for first, last in ranges for seq in range(first, last + 1)) == wanted
