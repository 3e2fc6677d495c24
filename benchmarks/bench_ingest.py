"""Durable ingest: a burst of ~1 KB records through the Store (WAL, synchronous=FULL, group
commit) against plain sqlite3 with one transaction per record, same disk, same run."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks.common import line, median
from edge import records
from edge.records import Record
from edge.store import Store
from tests.helpers import make_record


async def ours(directory: Path, batch: list[Record]) -> float:
    async with Store(directory, quota=1 << 40, min_free=0, sinks=[("region", True)]) as store:
        writer = asyncio.create_task(store.run_writer())
        started = time.perf_counter()
        futures = [await store.append(r) for r in batch]
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
        await store.stop_writer()
        await writer
    return len(batch) / elapsed


def plain_sqlite(directory: Path, batch: list[Record]) -> float:
    conn = sqlite3.connect(directory / "plain.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, body BLOB)")
    started = time.perf_counter()
    for seq, record in enumerate(batch, 1):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?)", (seq, record.id, records.encode(record))
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(batch) / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    batch = [make_record(i, size=560) for i in range(args.records)]
    size = median([len(records.encode(r)) for r in batch[:100]])
    ours_rates, plain_rates = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            ours_rates.append(asyncio.run(ours(Path(a), batch)))
            plain_rates.append(plain_sqlite(Path(b), batch[: max(2000, args.records // 10)]))
    print(f"durable ingest, {args.records} records of {size:.0f} bytes, median of {args.runs}")
    line("midas-edge Store (group commit, FULL)", f"{median(ours_rates):,.0f} records/s")
    line("plain sqlite3, 1 transaction/record (FULL)", f"{median(plain_rates):,.0f} records/s")
    line("ratio", f"{median(ours_rates) / median(plain_rates):.1f}x  (goal: >= 20,000 records/s)")


if __name__ == "__main__":
    main()
