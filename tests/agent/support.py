"""Forwarding test support: a real store with its writer and sealing, a scripted sink, a clock."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.chain import Sealer
from agent.sealing import SealingTask
from agent.sink import Delivery, Outcome, Outgoing, Sink
from agent.sink_status import SinkStatus
from edge.records import Record
from edge.store import Store
from tests.helpers import make_record

WAIT_S = 10.0


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Recorder:
    """The scheduler's observer: every status and the counters it reported."""

    statuses: list[SinkStatus] = field(default_factory=list)
    delivered: int = 0
    rejected: int = 0
    failed: int = 0

    def sink_counted(self, sink: str, delivered: int, rejected: int, failed: int) -> None:
        self.delivered += delivered
        self.rejected += rejected
        self.failed += failed

    def sink_changed(self, status: SinkStatus) -> None:
        self.statuses.append(status)


Script = Callable[[Sequence[Outgoing]], Awaitable[list[Delivery]]]


async def deliver_all(batch: Sequence[Outgoing]) -> list[Delivery]:
    return [Delivery(o.seq, Outcome.DELIVERED, receipt=f"r-{o.seq}") for o in batch]


class ScriptedSink(Sink):
    """A sink whose answers the test scripts: each send pops the next script, else `default`."""

    def __init__(self, name: str, default: Script = deliver_all) -> None:
        super().__init__(name)
        self.default = default
        self.scripts: list[Script] = []
        self.batches: list[list[int]] = []
        self.opened = self.closed = 0

    async def open(self) -> None:
        self.opened += 1

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        self.batches.append([o.seq for o in batch])
        script = self.scripts.pop(0) if self.scripts else self.default
        return await script(batch)

    async def close(self) -> None:
        self.closed += 1

    def seqs(self) -> list[int]:
        return [seq for batch in self.batches for seq in batch]


def fail_with(exc: Exception) -> Script:
    async def script(batch: Sequence[Outgoing]) -> list[Delivery]:
        raise exc

    return script


@contextlib.asynccontextmanager
async def open_store(
    data_dir: Path, sinks: Sequence[tuple[str, bool]], key: Ed25519PrivateKey | None = None
) -> AsyncIterator[Store]:
    """A real store with its writer and the sealing task running (sealing as "test-ws" with
    `key`, a new one if None)."""
    store = Store(data_dir, quota=1 << 30, min_free=0, sinks=sinks)
    async with store:
        sealing = SealingTask(store, Sealer("test-ws", key or Ed25519PrivateKey.generate()))
        writer = asyncio.create_task(store.run_writer(), name="writer")
        sealer = asyncio.create_task(sealing.run(), name="sealing")
        try:
            yield store
        finally:
            sealer.cancel()
            await asyncio.gather(sealer, return_exceptions=True)
            await store.stop_writer()
            await asyncio.wait_for(writer, WAIT_S)


async def add_records(
    store: Store, count: int, *, start: int = 0, blob: bytes | None = None
) -> list[Record]:
    """Commit `count` records (each referencing `blob` when given) and wait for their seals."""
    futures = []
    for n in range(start, start + count):
        record = make_record(n)
        if blob is not None:
            ref = await store.put_blob(blob, "image/jpeg", "portrait")
            record = msgspec.structs.replace(record, blobs=[ref])
        futures.append(await store.append(record))
    committed = [await asyncio.wait_for(f, WAIT_S) for f in futures]
    last = committed[-1].seq
    await wait_for(lambda: sealed_up_to(store, last))
    return committed


async def sealed_up_to(store: Store, seq: int) -> bool:
    rows = await store.query("SELECT coalesce(max(seq), 0) FROM seals")
    return int(rows[0][0]) >= seq


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = WAIT_S) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.01)


async def states(store: Store, sink: str) -> dict[int, tuple[str, int, str | None]]:
    """seq → (state, attempts, last_error) of one sink."""
    rows = await store.query(
        "SELECT seq, state, attempts, last_error FROM deliveries WHERE sink = ? ORDER BY seq",
        (sink,),
    )
    return {int(s): (str(st), int(a), e) for s, st, a, e in rows}


def check_share(base: Path, bodies: Mapping[str, bytes]) -> Counter[str]:
    """Assert a workstation's folder on a NAS share holds exactly the records `bodies` (id ->
    stored JSON bytes): no part left, nothing but records files, images and manifests, records
    files holding only those records' bytes (each followed by a newline), every manifest line
    naming its record's bytes and SHA-256 in a records file. Returns how many manifest lines
    list each id."""
    files = [p for p in base.rglob("*") if p.is_file()]
    assert not [p for p in files if ".part-" in p.name]
    kinds = Counter("blob" if p.parent.name == "blobs" else p.name.split("-")[0] for p in files)
    assert set(kinds) <= {"records", "manifest", "blob"}, kinds
    known = set(bodies.values())
    for path in (p for p in files if p.name.startswith("records-")):
        data = path.read_bytes()
        assert data.endswith(b"\n")
        assert set(data[:-1].split(b"\n")) <= known, f"{path.name} holds other bytes"
    listed: Counter[str] = Counter()
    for manifest in (p for p in files if p.name.startswith("manifest-")):
        for line in manifest.read_text().splitlines():
            entry = json.loads(line)
            listed[entry["id"]] += 1
            start = entry["offset"]
            data = (base / entry["file"]).read_bytes()[start : start + entry["size"]]
            assert data == bodies[entry["id"]]
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert set(listed) == set(bodies), "the manifests' ids differ from the records'"
    return listed
