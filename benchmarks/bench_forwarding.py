"""Drain of a committed, sealed backlog (~1 KB records) through the real scheduler and sinks:
to the reference receiver in another process (SQLite, durable) over loopback, and to the NAS
sink on a local-disk directory. Goals: >= 10,000 and >= 5,000 records/s."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.chain import PUBLIC_FILE, Sealer, load_or_create_key
from agent.http_sink import HttpSink
from agent.nas_sink import NasSink
from agent.scheduler import SinkScheduler
from agent.sealing import SealingTask
from agent.sink import Sink
from agent.sink_status import SinkStatus
from benchmarks.common import line, median, until
from edge import records
from edge.config import ForwardingConfig, SinkConfig
from edge.store import Store
from tests.helpers import make_record

WORKSTATION = "test-ws"
HTTP_GOAL = 10_000
NAS_GOAL = 5_000
RECEIVER_START_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 600.0
SINKS = [("region", True), ("nas", True)]


class Counter:
    """The scheduler's observer: counts deliveries, sets `done` at `target`."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.delivered = 0
        self.failed = 0
        self.done = asyncio.Event()

    def sink_counted(self, sink: str, delivered: int, rejected: int, failed: int) -> None:
        self.delivered += delivered
        self.failed += failed + rejected
        if self.delivered >= self.target:
            self.done.set()

    def sink_changed(self, status: SinkStatus) -> None:
        return None


async def build(directory: Path, key: Ed25519PrivateKey, count: int) -> int:
    """A store with `count` committed and sealed records; the median body size."""
    async with Store(directory, quota=1 << 40, min_free=0, sinks=SINKS) as store:
        writer = asyncio.create_task(store.run_writer())
        sealing = SealingTask(store, Sealer(WORKSTATION, key))
        sealer = asyncio.create_task(sealing.run())
        batch = [make_record(i, size=560) for i in range(count)]
        futures = [await store.append(r) for r in batch]
        await asyncio.gather(*futures)
        await until(lambda: sealing.last_sealed >= count, 0.05)  # the sealer has no event
        sealer.cancel()
        await asyncio.gather(sealer, return_exceptions=True)
        await store.stop_writer()
        await writer
    return int(median([len(records.encode(r)) for r in batch[:100]]))


async def drain(directory: Path, sink: Sink, config: SinkConfig, count: int) -> tuple[float, int]:
    """Records/s for the whole backlog of `config.name`, and the sink failures on the way."""
    async with Store(directory, quota=1 << 40, min_free=0, sinks=SINKS) as store:
        writer = asyncio.create_task(store.run_writer())
        counter = Counter(count)
        scheduler = SinkScheduler(sink, config, ForwardingConfig(), store, counter)
        started = time.perf_counter()
        task = asyncio.create_task(scheduler.run())
        await asyncio.wait_for(counter.done.wait(), DRAIN_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sink.close()
        await store.stop_writer()
        await writer
    return count / elapsed, counter.failed


@contextmanager
def receiver(directory: Path, trust: Path) -> Iterator[str]:
    """`midas-edge receiver` in its own process on SQLite; its URL."""
    command = [sys.executable, "-m", "edge", "receiver", "--listen", "127.0.0.1:0"]
    command.extend(["--db", str(directory / "receiver.db"), "--trust", str(trust)])
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + RECEIVER_START_TIMEOUT_S
        url = ""
        while not url and time.monotonic() < deadline:
            text = proc.stdout.readline()
            if not text:
                raise RuntimeError("the receiver exited before it listened")
            if text.startswith("receiver listening on "):
                url = text.split()[-1]
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--http-batch", type=int, default=1000)
    parser.add_argument("--nas-batch", type=int, default=1000)
    parser.add_argument("--only", choices=["http", "nas"], default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=os.environ.get("MIDAS_BENCH_DIR")) as tmp:
        root = Path(tmp)
        key = load_or_create_key(root)
        built = root / "built"
        started = time.perf_counter()
        size = asyncio.run(build(built, key, args.records))
        build_s = time.perf_counter() - started
        trust = root / "trust"
        trust.mkdir()
        shutil.copyfile(root / PUBLIC_FILE, trust / f"{WORKSTATION}.pem")
        http_rates: list[float] = []
        nas_rates: list[float] = []
        failures = 0
        for run in range(args.runs):
            if args.only in (None, "http"):
                work = Path(shutil.copytree(built, root / f"http-{run}"))
                with receiver(work, trust) as url:
                    config = SinkConfig(
                        name="region", kind="http", target=url, batch_records=args.http_batch
                    )
                    sink = HttpSink(config, WORKSTATION, Sealer(WORKSTATION, key).key_id)
                    rate, failed = asyncio.run(drain(work, sink, config, args.records))
                http_rates.append(rate)
                failures += failed
                shutil.rmtree(work)
            if args.only in (None, "nas"):
                work = Path(shutil.copytree(built, root / f"nas-{run}"))
                share = root / f"share-{run}"
                share.mkdir()
                (share / ".midas-share").write_text("bench\n")
                config = SinkConfig(
                    name="nas", kind="nas", target=str(share), batch_records=args.nas_batch
                )
                nas = NasSink(config, WORKSTATION, "bench", require_mount=False)
                rate, failed = asyncio.run(drain(work, nas, config, args.records))
                nas_rates.append(rate)
                failures += failed
                shutil.rmtree(work)
                shutil.rmtree(share)
    print(
        f"forwarding drain, {args.records:,} sealed records of {size} bytes"
        f" (store built in {build_s:.1f} s), {args.runs} runs"
    )
    if http_rates:
        runs = ", ".join(f"{r:,.0f}" for r in http_rates)
        line(
            f"receiver (other process, SQLite FULL), batch {args.http_batch}",
            f"{median(http_rates):,.0f} records/s  (runs: {runs})",
        )
        line(
            f"  ratio to the goal ({HTTP_GOAL:,} records/s)",
            f"{median(http_rates) / HTTP_GOAL:.2f}x",
        )
    if nas_rates:
        runs = ", ".join(f"{r:,.0f}" for r in nas_rates)
        line(
            f"NAS sink (local disk), batch {args.nas_batch}",
            f"{median(nas_rates):,.0f} records/s  (runs: {runs})",
        )
        line(
            f"  ratio to the goal ({NAS_GOAL:,} records/s)", f"{median(nas_rates) / NAS_GOAL:.2f}x"
        )
    line("failed sends on the way", str(failures))


if __name__ == "__main__":
    main()
