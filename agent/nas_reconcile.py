"""NAS reconciliation: what the store says a NAS sink has, checked against the share.

Every record the store marks delivered to the sink (as it stood before the share was read) must
be named by a manifest on the share (else it is `missing`), with its bytes intact in the
records file the manifest names (at its offset, its size, its SHA-256, which is also the
SHA-256 of the body the store holds) and its images under their SHA-256 names with their
sizes and that SHA-256 (else it is `damaged`). A manifest whose content no longer matches the
digest in its name, or that has lines nobody can read, is damaged as a whole: none of its lines
is trusted. One intact copy in any manifest is enough (a record sent again sits in two).
Records on the share that the store does not know are counted (`unknown`), not an error. A
record purged by retention that is missing or damaged on the share is `lost`: its body is a
tombstone now, it cannot be sent again. Only records still held are read and hashed (they can
be repaired); a purged one is looked at only as far as its intact manifest line and its files'
sizes tell (`Depth.PRESENCE`), so the share's whole history is not read again every day: a
purged record's file damaged without a change of size is not found (it could not be repaired).

The share is only read, in a thread of its own under the sink's timeout (agent/nas_manifests.py).
Memory stays bounded for any number of records: manifests are streamed line by line, and the
store's side and the share's meet in temporary tables of the caller's connection (SQLite temp
storage, spilled to a file beyond its cache).

After `check`, `REQUEUE_SQL` sets the deliveries of the missing and damaged unpurged records
back to pending, by seq range, at most REQUEUE_ROWS records per transaction (`requeue_batches`):
the CLI in short BEGIN IMMEDIATE transactions of its own (agent/outbox.py), the daemon through
its store's single writer (agent/nas_reconciler.py). The sink writes them again at its next
pass, under fresh names where a damaged file holds the old ones (agent/nas_files.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.nas_manifests import Ask, Depth, ReconcileError, ShareReader
from agent.nas_sink import mount_required
from edge.config import SinkConfig

__all__ = ["REQUEUE_SQL", "ReconcileError", "Report", "Seqs", "check", "requeue_batches"]

SETUP_SQL = (
    "PRAGMA temp_store = FILE",
    "DROP TABLE IF EXISTS temp.reconcile_expected",
    "DROP TABLE IF EXISTS temp.reconcile_seen",
    "CREATE TEMP TABLE reconcile_expected ("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL, purged INTEGER NOT NULL, best INTEGER)",
    "CREATE TEMP TABLE reconcile_seen (id TEXT NOT NULL, ok INTEGER NOT NULL)",
)
EXPECTED_SQL = (
    "INSERT INTO temp.reconcile_expected (seq, id, purged)"
    " SELECT d.seq, r.id, r.purged_at IS NOT NULL FROM deliveries d"
    " JOIN records r ON r.seq = d.seq WHERE d.sink = ? AND d.state = 'delivered'"
)
SEEN_SQL = "INSERT INTO temp.reconcile_seen (id, ok) VALUES (?, ?)"
# The records of a chunk of manifest lines, by their seqs, among those the check judges. A
# record retention purged since the check began counts as purged: its body is a tombstone now.
EXPECTED_OF_SQL = (
    "SELECT e.seq, e.id, e.purged OR r.purged_at IS NOT NULL,"
    " CASE WHEN e.purged OR r.purged_at IS NOT NULL THEN NULL ELSE r.body END"
    " FROM temp.reconcile_expected e JOIN main.records r ON r.seq = e.seq WHERE e.seq IN ({})"
)
MAX_SEQ = (1 << 63) - 1  # SQLite's largest integer: a line claiming more is no record of ours
BEST_SQL = (
    "UPDATE temp.reconcile_expected SET best ="
    " (SELECT max(ok) FROM temp.reconcile_seen s WHERE s.id = reconcile_expected.id)"
)
VERDICTS_SQL = (
    "SELECT seq, purged, best FROM temp.reconcile_expected"
    " WHERE purged = 0 OR coalesce(best, 0) = 0 ORDER BY seq"
)
UNKNOWN_SQL = (
    "SELECT count(DISTINCT id) FROM temp.reconcile_seen s"
    " WHERE NOT EXISTS (SELECT 1 FROM main.records r WHERE r.id = s.id)"
)
# One seq range [?2, ?3] of `sink`'s deliveries back to pending. Only rows still delivered and
# records still held: a record purged since the check stays lost.
REQUEUE_SQL = (
    "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0,"
    " last_error = 'not intact on the share', delivered_at = NULL, receipt = NULL"
    " WHERE sink = ?1 AND state = 'delivered' AND seq BETWEEN ?2 AND ?3 AND EXISTS"
    " (SELECT 1 FROM records r WHERE r.seq = deliveries.seq AND r.purged_at IS NULL)"
)
REQUEUE_ROWS = 1000  # records re-queued per transaction: the writer is never held for long


@dataclass(slots=True)
class Seqs:
    """A count of records and their sequence numbers as ascending [first, last] ranges."""

    count: int = 0
    ranges: list[list[int]] = field(default_factory=list)

    def add(self, seq: int) -> None:
        self.count += 1
        if self.ranges and self.ranges[-1][1] == seq - 1:
            self.ranges[-1][1] = seq
        else:
            self.ranges.append([seq, seq])

    def text(self) -> str:
        return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in self.ranges)


@dataclass(slots=True)
class Report:
    """What one NAS sink's share holds of what the store marks delivered to it."""

    sink: str
    checked: int = 0  # delivered records the store still holds
    intact: int = 0
    missing: Seqs = field(default_factory=Seqs)  # no manifest names them
    damaged: Seqs = field(default_factory=Seqs)  # named, but no copy is intact
    lost: Seqs = field(default_factory=Seqs)  # purged here, and missing or damaged there
    unknown: int = 0  # records on the share the store does not know
    manifests: int = 0
    damaged_manifests: int = 0
    requeued: int | None = None  # set by a repair

    @property
    def ok(self) -> bool:
        return not (self.missing.count or self.damaged.count or self.lost.count)

    def as_json(self) -> dict[str, Any]:
        return {
            "sink": self.sink,
            "checked": self.checked,
            "intact": self.intact,
            "missing": self.missing.count,
            "damaged": self.damaged.count,
            "lost": self.lost.count,
            "unknown": self.unknown,
            "manifests": self.manifests,
            "damaged_manifests": self.damaged_manifests,
            "missing_seqs": self.missing.ranges,
            "damaged_seqs": self.damaged.ranges,
            "lost_seqs": self.lost.ranges,
            "requeued": self.requeued,
        }

    def summary(self) -> str:
        parts = [f"sink {self.sink}: {self.checked} checked, {self.intact} intact"]
        for word, seqs in (("missing", self.missing), ("damaged", self.damaged)):
            parts.append(f"{seqs.count} {word}" + (f" (seqs {seqs.text()})" if seqs.count else ""))
        parts.append(f"{self.unknown} unknown on the share")
        parts.append(f"{self.manifests} manifests ({self.damaged_manifests} damaged)")
        return ", ".join(parts)


def requeue_batches(report: Report) -> Iterator[list[tuple[str, int, int]]]:
    """REQUEUE_SQL's rows for `report`'s missing and damaged records, in batches of at most
    REQUEUE_ROWS records: one short transaction each."""
    ranges = sorted([*report.missing.ranges, *report.damaged.ranges])
    batch: list[tuple[str, int, int]] = []
    room = REQUEUE_ROWS
    for start, last in ranges:
        first = start
        while first <= last:
            end = min(last, first + room - 1)
            batch.append((report.sink, first, end))
            room -= end - first + 1
            first = end + 1
            if room == 0:
                yield batch
                batch, room = [], REQUEUE_ROWS
    if batch:
        yield batch


def check(
    conn: sqlite3.Connection,
    sink: SinkConfig,
    workstation: str,
    *,
    require_mount: bool | None = None,
    stop: threading.Event | None = None,
) -> Report:
    """Reconcile `sink`'s share with the store on `conn` (only reads the store: its own
    bookkeeping is in temporary tables); `stop`, once set, ends the check with a ReconcileError."""
    for sql in SETUP_SQL:
        conn.execute(sql)
    # The delivered set is taken before the share is read: their manifests are all there by now.
    conn.execute(EXPECTED_SQL, (sink.name,))
    reader = ShareReader(
        Path(sink.target),
        sink.sentinel,
        mount_required() if require_mount is None else require_mount,
        workstation,
    )
    report = Report(sink.name)
    with contextlib.closing(reader.findings(sink.timeout, stop)) as findings:
        for item in findings:
            if isinstance(item, Ask):
                item.answer.set_result(_depths(conn, item.lines))
            elif isinstance(item, bool):
                report.manifests += 1
                if item:
                    report.damaged_manifests += 1
            else:
                conn.executemany(SEEN_SQL, [(seen.id, int(seen.intact)) for seen in item])
    conn.execute("CREATE INDEX temp.reconcile_seen_id ON reconcile_seen (id)")
    conn.execute(BEST_SQL)
    for seq, purged, best in conn.execute(VERDICTS_SQL):
        if purged:
            report.lost.add(seq)
        else:
            report.checked += 1
            if best == 1:
                report.intact += 1
            else:
                (report.missing if best is None else report.damaged).add(seq)
    report.unknown = int(conn.execute(UNKNOWN_SQL).fetchone()[0])
    return report


def _depths(conn: sqlite3.Connection, lines: list[tuple[str, int, str]]) -> list[Depth]:
    """How deeply to look at each line (id, seq, sha256) on the share: in full for the very
    record the store holds, by sizes for a purged one (its tombstone is not what was sent: it
    is judged by its manifest), not at all for any other (unknown, or not what the store holds)."""
    seqs = [seq for _, seq, _ in lines if 0 < seq <= MAX_SEQ]
    held: dict[int, tuple[str, bool, bytes | None]] = {}
    if seqs:
        sql = EXPECTED_OF_SQL.format(",".join("?" * len(seqs)))
        for seq, rid, purged, body in conn.execute(sql, seqs):
            held[int(seq)] = (str(rid), bool(purged), None if body is None else bytes(body))
    depths: list[Depth] = []
    for rid, seq, sha256 in lines:
        mine = held.get(seq)
        if mine is None or mine[0] != rid:
            depths.append(Depth.NONE)
        elif mine[1]:
            depths.append(Depth.PRESENCE)
        elif mine[2] is not None and hashlib.sha256(mine[2]).hexdigest() == sha256.lower():
            depths.append(Depth.FULL)
        else:
            depths.append(Depth.NONE)
    return depths
