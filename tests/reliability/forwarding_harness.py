"""Forwarding fault harness: the daemon as a child process with a sim reader, an HTTP sink to a
real receiver (SQLite, in the test's loop) through the fault proxy, a NAS sink on a directory
that can be "unmounted", and the oracle that checks what arrived once everything drained."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from agent.chain import PUBLIC_FILE, load_or_create_key
from agent.nas_sink import STALE_PART_S, UNMOUNTED_ENV
from edge.wire import Receipt, Status
from receiver.app import serve
from receiver.checks import Trust
from receiver.sqlite_store import SqliteStorage
from receiver.storage import Checked, Newer
from tests.agent.support import check_share
from tests.reliability.daemon import Daemon
from tests.reliability.faultproxy import FaultProxy, Mode

WORKSTATION = "rel-fwd"
SENTINEL = ".midas-share"
READY_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
POLL_S = 0.05

CONFIG = """
[workstation]
id = "{ws}"
data_dir = "{data_dir}"

[api]
listen = "127.0.0.1:0"

[storage]
quota = "4GiB"
min_free = 0

[forwarding]
backoff_base = 0.05
backoff_cap = 0.5

[retention]
delivered_days = 30

[[devices]]
name = "reader"
driver = "sim"
url = "sim://reader"
options = {{ profile = "passport", interval = {interval}, count = {count} }}

[[sinks]]
name = "region"
kind = "http"
target = "{url}"
batch_records = {batch}
timeout = {timeout}
interval = 0.5

[[sinks]]
name = "nas"
kind = "nas"
target = "{nas}"
batch_records = {batch}
timeout = {timeout}
interval = 0.5
"""

SINKS = ("region", "nas")


class CountingStorage(SqliteStorage):
    """The receiver's real SQLite storage, counting the receipts it answered."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.receipts: Counter[Status] = Counter()

    async def ingest(
        self,
        workstation: str,
        key_id: str,
        records: Sequence[Checked],
        received_at: float,
        newer: Newer | None = None,
    ) -> list[Receipt]:
        receipts = await super().ingest(workstation, key_id, records, received_at, newer)
        self.receipts.update(r.status for r in receipts)
        return receipts


async def wait_until(what: str, check: Callable[[], bool], timeout: float) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from None


def query(db: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """Rows from a SQLite file, read-only (the daemon may be running and writing)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@dataclass
class Figures:
    """What a scenario did and what the oracle found."""

    runs: int = 0
    kills: int = 0
    kills_in_flight: int = 0
    records: int = 0
    acknowledged: int = 0
    lost: int = 0
    receiver_rows: int = 0
    receiver_duplicates_answered: int = 0
    nas_files: int = 0
    nas_manifest_repeats: int = 0
    stale_parts: int = 0
    proxy: dict[str, int] = field(default_factory=dict)


@dataclass
class Rig:
    """Receiver + proxy + NAS directory + daemon data dir for one scenario."""

    tmp: Path
    storage: CountingStorage
    proxy: FaultProxy
    receiver_url: str
    timeout: float = 1.0
    batch: int = 25
    figures: Figures = field(default_factory=Figures)
    acknowledged: set[str] = field(default_factory=set)
    daemon: Daemon | None = None
    _run_count: int = 0

    @property
    def data_dir(self) -> Path:
        return self.tmp / "data"

    @property
    def nas(self) -> Path:
        return self.tmp / "share"

    @property
    def db(self) -> Path:
        return self.data_dir / "records.db"

    def start(self, count: int, interval: float = 0.01) -> Daemon:
        """A daemon whose reader produces `count` records (per run) and then waits."""
        config = self.tmp / "config.toml"
        config.write_text(
            CONFIG.format(
                ws=WORKSTATION,
                data_dir=self.data_dir,
                interval=interval,
                count=count,
                url=self.proxy.url,
                nas=self.nas,
                batch=self.batch,
                timeout=self.timeout,
            )
        )
        self.daemon = Daemon(config, {UNMOUNTED_ENV: "1"})
        self._run_count = count
        self.figures.runs += 1
        return self.daemon

    def _current(self) -> Daemon:
        assert self.daemon is not None, "no daemon started"
        return self.daemon

    async def ready(self) -> None:
        daemon = self._current()
        await wait_until(
            "the daemon to be ready",
            lambda: bool(daemon.logs("ready")) or daemon.proc.poll() is not None,
            READY_TIMEOUT_S,
        )
        assert daemon.proc.poll() is None, f"the daemon exited with {daemon.proc.returncode}"

    async def committed(self, count: int, timeout: float = READY_TIMEOUT_S) -> None:
        daemon = self._current()
        done = lambda: len(daemon.logs("record committed")) >= count  # noqa: E731  # a short probe
        await wait_until(f"{count} records committed", done, timeout)

    def _retire(self, daemon: Daemon) -> None:
        """Keep what the exited daemon acknowledged and forget it."""
        self.acknowledged |= daemon.acknowledged()
        daemon.close()
        self.daemon = None

    async def kill9(self) -> None:
        daemon = self._current()
        await asyncio.to_thread(daemon.kill9)
        self._retire(daemon)
        self.figures.kills += 1

    async def stop(self) -> None:
        daemon = self._current()
        code = await asyncio.to_thread(daemon.terminate, STOP_TIMEOUT_S)
        self._retire(daemon)
        assert code == 0, f"the daemon exited with {code} on SIGTERM"

    def pending(self) -> int:
        rows = query(self.db, "SELECT count(*) FROM deliveries WHERE state != 'delivered'")
        return int(rows[0][0])

    async def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Wait until this run's reader is done and every delivery of every sink is delivered."""
        await self.committed(self._run_count, timeout)
        await wait_until("every delivery to be delivered", lambda: self.pending() == 0, timeout)

    async def in_flight_kill(self) -> None:
        """Kill -9 while an answer (the server has committed) is held back by the proxy."""
        self.proxy.answer_seen.clear()
        await self.proxy.set(Mode.LATENCY)
        await wait_until("a batch answer", self.proxy.answer_seen.is_set, DRAIN_TIMEOUT_S)
        await self.kill9()
        self.figures.kills_in_flight += 1
        await self.proxy.set(Mode.PASS)

    def parts(self) -> list[Path]:
        """The `.part-*` files (unpublished writes) anywhere on the share."""
        return [p for p in self.nas.rglob("*") if ".part-" in p.name]

    def age_parts(self) -> int:
        """Make the `.part-*` files a kill -9 left on the share stale (older than the sink's limit),
        so the next start must remove them; how many there were."""
        old = time.time() - STALE_PART_S - 60
        parts = self.parts()
        for part in parts:
            os.utime(part, (old, old))
        self.figures.stale_parts += len(parts)
        return len(parts)

    @contextlib.asynccontextmanager
    async def unmounted(self) -> AsyncIterator[Path]:
        """The share goes away (a bare, empty mount point is left) and comes back after."""
        away = self.tmp / "share.away"
        self.nas.rename(away)
        self.nas.mkdir()
        try:
            yield self.nas
        finally:
            stray = list(self.nas.iterdir())
            if not stray:
                self.nas.rmdir()
            assert not stray, f"written into the bare mount point: {stray[:5]}"
            away.rename(self.nas)

    async def oracle(self) -> Figures:
        """Every acknowledged record in the store reached every sink exactly once; nothing else."""
        assert self.daemon is None, "stop the daemon first"
        figures = self.figures
        assert query(self.db, "PRAGMA integrity_check") == [("ok",)]
        rows = query(self.db, "SELECT seq, id, body FROM records ORDER BY seq")
        records = {str(rid): bytes(body) for _, rid, body in rows}
        seqs = [int(seq) for seq, _, _ in rows]
        figures.records = len(records)
        figures.acknowledged = len(self.acknowledged)
        assert seqs == list(range(1, len(seqs) + 1)), "the store's sequence has gaps"
        figures.lost = len(self.acknowledged - records.keys())
        assert figures.lost == 0, f"{figures.lost} acknowledged records are not in the store"
        states = query(self.db, "SELECT sink, state, count(*) FROM deliveries GROUP BY sink, state")
        assert sorted(states) == sorted((s, "delivered", len(records)) for s in SINKS), states
        sealed = query(self.db, "SELECT count(*) FROM seals")
        assert sealed == [(len(records),)]

        received = query(
            self.storage.path, "SELECT workstation, id, seq, body FROM records ORDER BY n"
        )
        figures.receiver_rows = len(received)
        ids = Counter(str(rid) for _, rid, _, _ in received)
        assert {str(ws) for ws, _, _, _ in received} <= {WORKSTATION}
        assert set(ids) == set(records), "the receiver's ids differ from the store's"
        assert all(n == 1 for n in ids.values())
        for _, rid, _, body in received:
            assert bytes(body) == records[str(rid)]
        assert self.storage.receipts[Status.STORED] == len(records)
        assert self.storage.receipts[Status.REJECTED] == 0
        figures.receiver_duplicates_answered = self.storage.receipts[Status.DUPLICATE]
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.receiver_url}/v1/workstations/{WORKSTATION}/chain") as resp,
        ):
            chain = await resp.json()
        assert chain["count"] == len(records)
        assert (chain["first_seq"], chain["last_seq"]) == (1, len(records))
        assert chain["gaps"] == [] and chain["contiguous_to"] == len(records)
        assert chain["chain_starts"] == [1]

        assert not self.parts()
        listed = check_share(self.nas / WORKSTATION, records)
        figures.nas_files = len(list((self.nas / WORKSTATION).rglob("records-*.jsonl")))
        figures.nas_manifest_repeats = sum(listed.values()) - len(listed)
        figures.proxy = {
            "connections": self.proxy.connections,
            "resets": self.proxy.resets,
            "lost_acks": self.proxy.lost_acks,
        }
        return figures


@contextlib.asynccontextmanager
async def rig(tmp: Path, *, lifetime: float = 300.0, seed: int = 0) -> AsyncIterator[Rig]:
    """A receiver behind a fault proxy, a share with its sentinel, and a data dir with its key."""
    data = tmp / "data"
    data.mkdir(mode=0o700)
    load_or_create_key(data)
    trust = tmp / "trust"
    trust.mkdir()
    (trust / f"{WORKSTATION}.pem").write_bytes((data / PUBLIC_FILE).read_bytes())
    share = tmp / "share"
    share.mkdir()
    (share / SENTINEL).write_text("test-share\n")
    storage = CountingStorage(tmp / "receiver.db")
    await storage.open()
    try:
        async with (
            serve(storage, Trust(trust)) as where,
            FaultProxy(
                (where.host, where.port), lifetime=lifetime, latency=0.3, jitter=0.1, seed=seed
            ) as proxy,
        ):
            r = Rig(tmp, storage, proxy, where.url)
            try:
                yield r
            finally:
                if r.daemon is not None:
                    r.daemon.close()
    finally:
        await storage.close()


def report(name: str, figures: Figures) -> None:
    """Print a scenario's figures (shown with -s)."""
    print(f"\n{name}: {json.dumps(figures.__dict__, sort_keys=True)}")


def rng(seed: int) -> random.Random:
    return random.Random(seed)  # fault timing, not cryptography
