"""Alert lists: check cost per capture against a 1,000,000-entry list; list load time and memory.

The list holds 1,000 keys of generated documents and people plus random digests up to the
entry count. Per capture: normalising the parsed fields, the HMAC of the two keys and their
lookups (`evaluate`), and the pipeline's hook on records the real MRZ parsers produced
(`AlertChecker`: the check digits looked at, the record annotated, the check counted).
Loading (verify the signature and the body's SHA-256, check and index the body), the resident
memory the list in force adds, and the peak while a newer list is loaded beside it (a swap:
both files and both indexes held at once) are measured in a fresh process, so the builder's
own allocations do not hide them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import CollectorRegistry

from benchmarks.common import line, median
from drivers.base import Capture, CaptureKind
from edge.alerts.check import AlertChecker, evaluate, fields_of
from edge.alerts.index import AlertIndex
from edge.alerts.keeper import InForce, ListKeeper
from edge.alerts.keys import parse_public_key, public_base64
from edge.alerts.listfile import Category, assemble, verify
from edge.alerts.metrics import AlertMetrics
from edge.alerts.normalize import digest, record_keys
from edge.documents.mrz import parse_mrz
from edge.documents.mrz_gen import Format, random_mrz
from edge.normalize import Normalizer, document_parsers
from edge.records import DeviceRef, Record

GOAL_US = 50.0
_FORMATS: tuple[Format, ...] = ("td3", "td1", "td2")
_TODAY = dt.date(2025, 6, 1)


def _fields(count: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [parse_mrz(random_mrz(rng, _FORMATS[i % 3]), today=_TODAY).fields for i in range(count)]


def make_list(entries: int, listed: list[dict[str, object]], key: Ed25519PrivateKey) -> bytes:
    """A signed list of `entries`: the keys of `listed`, random digests for the rest."""
    hmac_key = os.urandom(32)
    known = []
    for fields in listed:
        keys = record_keys(fields)
        known += [digest(hmac_key, k) for k in (keys.document, keys.person) if k is not None]
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 2**64, size=(entries - len(known), 2), dtype=np.uint64)
    digests = np.concatenate(
        [raw.astype(">u8"), np.frombuffer(b"".join(known), dtype=">u8").reshape(-1, 2)]
    )
    order = np.lexsort((digests[:, 1], digests[:, 0]))
    digests = digests[order]
    categories = np.where(order % 2 == 0, Category.LOST_STOLEN, Category.PERSON_OF_INTEREST)
    refs = "".join(f"HQ-{i:07d}\n" for i in range(entries)).encode("ascii")
    body = digests.astype(">u8").tobytes() + categories.astype(np.uint8).tobytes() + refs
    now = dt.datetime.now(dt.UTC)
    return assemble(
        body,
        entries,
        version=1,
        issued=now,
        expires=now + dt.timedelta(days=7),
        hmac_key=hmac_key,
        private_key=key,
    )


def _status_kib(field: str) -> int:
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith(field + ":"):
            return int(text.split()[1])
    return 0


def child_load(path: str, public_key: str, repeats: int) -> None:
    """In a fresh process: RSS before and after the first load, load times, and the peak RSS
    while each later list is loaded beside the first (as a swap does: its own bytes too)."""
    key = parse_public_key(public_key)
    gc.collect()
    before = _status_kib("VmRSS")
    seconds = []
    after = 0
    held: list[AlertIndex] = []
    for _ in range(repeats):
        data = Path(path).read_bytes()
        start = time.perf_counter()
        index = AlertIndex(verify(data, key))
        seconds.append(time.perf_counter() - start)
        if not held:
            held.append(index)  # the first list stays in force while the others load
            after = _status_kib("VmRSS")
        del data, index
    peak = _status_kib("VmHWM")
    print(
        json.dumps({"before_kib": before, "after_kib": after, "peak_kib": peak, "seconds": seconds})
    )


class Loaded(msgspec.Struct):
    before_kib: int
    after_kib: int
    peak_kib: int
    seconds: list[float]


def load_in_child(data: bytes, key: Ed25519PrivateKey, repeats: int) -> Loaded:
    with tempfile.NamedTemporaryFile(suffix=".alerts") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(
            [
                sys.executable, "-m", "benchmarks.bench_alerts", "--child", handle.name,
                public_base64(key.public_key()), str(repeats),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout  # fmt: skip
    return msgspec.json.decode(out, type=Loaded)


async def _keeper(data: bytes, key: Ed25519PrivateKey, where: Path) -> ListKeeper:
    keeper = ListKeeper(where, key.public_key())
    await keeper.offer(data, "bench", persist=False)
    return keeper


class Timed(msgspec.Struct):
    """Microseconds per item of each repetition: wall clock, and this thread's CPU time (the
    cost itself, whatever else the machine runs)."""

    wall: list[float]
    cpu: list[float]

    def show(self, label: str) -> None:
        line(label, f"{median(self.wall):.1f} us median ({median(self.cpu):.1f} us CPU)")


def timed(step: Callable[[], object], count: int, repeats: int) -> Timed:
    out = Timed([], [])
    for _ in range(repeats):
        gc.collect()
        wall, cpu = time.perf_counter(), time.thread_time()
        step()
        out.cpu.append((time.thread_time() - cpu) / count * 1e6)
        out.wall.append((time.perf_counter() - wall) / count * 1e6)
    return out


def per_capture(in_force: InForce, samples: list[dict[str, object]], repeats: int) -> Timed:
    """`evaluate` over `samples`, per capture."""
    now = time.time()

    def step() -> None:
        for fields in samples:
            evaluate(fields, in_force, now)

    return timed(step, len(samples), repeats)


def _records(count: int) -> list[Record]:
    """Document records as the pipeline hands them to the hook: parsed by the MRZ parsers."""
    normalizer = Normalizer("bench", document_parsers())
    device = DeviceRef("bench", "sim")
    rng = random.Random(5)
    out = []
    for i in range(count):
        text = random_mrz(rng, _FORMATS[i % 3])
        raw = text.encode() + b"\r"
        capture = Capture(CaptureKind.DOCUMENT, raw, 1_750_000_000_000, text=text)
        out.append(normalizer(capture, device))
    unparsed = sum(not fields_of(r) for r in out)
    if unparsed:
        raise SystemExit(f"{unparsed} of {count} records carry no parsed fields: nothing to check")
    return out


def per_record(checker: AlertChecker, records: list[Record], repeats: int) -> Timed:
    """The pipeline hook over `records`, per record."""

    def step() -> None:
        for record in records:
            checker(record)

    return timed(step, len(records), repeats)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000, help="list size")
    parser.add_argument("--captures", type=int, default=20_000, help="captures per repetition")
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_load(args.child[0], args.child[1], int(args.child[2]))
        return
    key = Ed25519PrivateKey.generate()
    samples = _fields(args.captures, seed=9303)
    listed = samples[:: max(1, len(samples) // 1000)][:1000]
    start = time.perf_counter()
    data = make_list(args.entries, listed, key)
    built = time.perf_counter() - start
    print(
        f"alert list: {args.entries:,} entries, {len(data) / 2**20:.1f} MiB "
        f"(built in {built:.1f} s), {args.captures:,} captures ({len(listed)} listed)"
    )
    with tempfile.TemporaryDirectory() as where:
        keeper = asyncio.run(_keeper(data, key, Path(where)))
    in_force = keeper.current
    assert in_force is not None
    hits = sum(evaluate(f, in_force, time.time()).verdict == "hit" for f in samples)
    if hits < len(listed):
        raise SystemExit(f"only {hits} of {len(listed)} listed captures were hits")
    per_capture(in_force, samples[:2000], 1)  # warm up
    checks = per_capture(in_force, samples, args.repeats)
    checks.show("check per capture (normalise, 2 HMAC, lookups)")
    ratio = f"{median(checks.wall) / GOAL_US:.2f} wall, {median(checks.cpu) / GOAL_US:.2f} CPU"
    line("  ratio to the goal (<= 50 us)", ratio)

    checker = AlertChecker(keeper, AlertMetrics(CollectorRegistry()))
    records = _records(min(args.captures, 5000))
    checked = [checker(r).payload["alert"]["verdict"] for r in records]
    if checked.count("not_checked"):
        raise SystemExit("records went unchecked: the hook benchmark would measure nothing")
    per_record(checker, records[:500], 1)
    hook = per_record(checker, records, args.repeats)
    hook.show("check + annotate a parsed record (pipeline hook)")
    ratio = f"{median(hook.wall) / GOAL_US:.2f} wall, {median(hook.cpu) / GOAL_US:.2f} CPU"
    line("  ratio to the goal (<= 50 us)", ratio)

    loaded = load_in_child(data, key, max(3, args.repeats // 2))
    line("list load (verify + index)", f"{median(loaded.seconds) * 1000:.0f} ms median")
    added = (loaded.after_kib - loaded.before_kib) / 1024
    line("memory added by the list in force (RSS)", f"{added:.1f} MiB")
    line("  of which the file's bytes", f"{len(data) / 2**20:.1f} MiB")
    swap = (loaded.peak_kib - loaded.before_kib) / 1024
    line("peak while a newer list loads beside it (RSS)", f"{swap:.1f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
