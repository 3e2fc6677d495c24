"""The outbox: per-sink delivery states, their statistics, and the operator's `midas-edge outbox`.

A deliveries row per (sink, record) moves: pending → delivered (the sink's receipt), pending →
dead (rejected, or too many attempts; never deleted automatically), dead → pending (`replay`),
dead → dropped (`drop`: the operator gives that record up for that sink), delivered → pending
(`reconcile --repair`: a NAS share lost or damaged what the sink wrote, agent/nas_reconcile.py).
Retention treats a dropped row as settled, so personal data does not stay on the workstation
for ever.

The CLI edits the database while the daemon may be running, on its own connection, in one short
`BEGIN IMMEDIATE` transaction with a busy timeout (a repair: one per `REQUEUE_ROWS` records):
the daemon's writer waits on its own busy timeout (5 s) for those few milliseconds, and its
schedulers re-read the states on every pass, so a replayed record leaves at the sink's next
check (`interval`). The daemon's local API stays read-only. Dead letters are shown by seq, id,
sink, reason and attempts; never their content.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from agent import nas_reconcile
from edge.config import Config
from edge.records import utc_timestamp
from edge.store.store import DB_NAME

PENDING, DELIVERED, DEAD, DROPPED = "pending", "delivered", "dead", "dropped"
DROP_RECEIPT = "dropped by operator"
# The schema version that knows the 'dropped' state (edge/store/schema.py).
OUTBOX_SCHEMA = 3
CLI_BUSY_TIMEOUT_MS = 10_000

EXIT_OK, EXIT_FAIL = 0, 1


class OutboxError(Exception):
    """An outbox action cannot be done (no store, unknown sink or sequence, purged record)."""


def utc_text(epoch_s: float) -> str:
    """`epoch_s` as the store's timestamp text (ISO 8601 UTC, ms, Z): sorts as it compares."""
    return utc_timestamp(int(epoch_s * 1000))


def epoch_of(text: str) -> float:
    """Seconds since the epoch of a store timestamp."""
    return datetime.fromisoformat(text).timestamp()


# -- reading ---------------------------------------------------------------------------------

STATUS_SQL = "SELECT sink, state, count(*) FROM deliveries GROUP BY sink, state"
OLDEST_SQL = (
    "SELECT r.captured_at FROM deliveries d JOIN records r ON r.seq = d.seq"
    " WHERE d.sink = ? AND d.state = 'pending' ORDER BY d.seq LIMIT 1"
)
DEAD_SQL = (
    "SELECT d.seq, r.id, d.sink, d.last_error, d.attempts FROM deliveries d"
    " JOIN records r ON r.seq = d.seq WHERE d.state = 'dead' AND (?1 IS NULL OR d.sink = ?1)"
    " ORDER BY d.sink, d.seq"
)


def status(conn: sqlite3.Connection, now: float, sink: str | None = None) -> list[dict[str, Any]]:
    """Per sink: required, backlog, age of the oldest undelivered record, counts by state."""
    sinks = conn.execute("SELECT name, required FROM sinks ORDER BY name").fetchall()
    counts: dict[str, dict[str, int]] = {}
    for name, state, count in conn.execute(STATUS_SQL):
        counts.setdefault(str(name), {})[str(state)] = int(count)
    out: list[dict[str, Any]] = []
    for name, required in sinks:
        if sink is not None and name != sink:
            continue
        by_state = counts.get(str(name), {})
        oldest = conn.execute(OLDEST_SQL, (name,)).fetchone()
        age = round(max(0.0, now - epoch_of(str(oldest[0]))), 3) if oldest else None
        out.append(
            {
                "sink": str(name),
                "required": bool(required),
                "backlog": by_state.get(PENDING, 0),
                "oldest_undelivered_age_s": age,
                "delivered": by_state.get(DELIVERED, 0),
                "dead": by_state.get(DEAD, 0),
                "dropped": by_state.get(DROPPED, 0),
            }
        )
    return out


def dead_letters(conn: sqlite3.Connection, sink: str | None = None) -> list[dict[str, Any]]:
    return [
        {"seq": int(seq), "id": str(rid), "sink": str(name), "reason": reason, "attempts": n}
        for seq, rid, name, reason, n in conn.execute(DEAD_SQL, (sink,))
    ]


# -- operator actions (each one short BEGIN IMMEDIATE transaction) ---------------------------

REPLAY_SQL = (
    "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0,"
    " last_error = NULL, delivered_at = NULL, receipt = NULL"
    " WHERE state IN ('dead', 'dropped') AND (?1 IS NULL OR seq = ?1) AND (?2 IS NULL OR sink = ?2)"
    " AND seq IN (SELECT seq FROM records WHERE purged_at IS NULL)"
)
DROP_SQL = (
    "UPDATE deliveries SET state = 'dropped', delivered_at = ?1, receipt = ?2"
    " WHERE state = 'dead' AND seq = ?3 AND (?4 IS NULL OR sink = ?4)"
)


def replay(conn: sqlite3.Connection, seq: int | None, sink: str | None) -> int:
    """Dead (or dropped) letters back to pending with their attempts reset; returns the count.

    A purged record cannot be replayed: its body is a tombstone that no longer matches its seal.
    """
    with _immediate(conn):
        if seq is not None:
            row = conn.execute("SELECT purged_at FROM records WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                raise OutboxError(f"no record with sequence {seq}")
            if row[0] is not None:
                raise OutboxError(f"record {seq} was purged by retention; it cannot be replayed")
        return conn.execute(REPLAY_SQL, (seq, sink)).rowcount


def drop(conn: sqlite3.Connection, seq: int, sink: str | None, now: float) -> int:
    """Mark the dead letters of `seq` dropped (given up for that sink); returns the count."""
    with _immediate(conn):
        return conn.execute(DROP_SQL, (utc_text(now), DROP_RECEIPT, seq, sink)).rowcount


def requeue(conn: sqlite3.Connection, report: nas_reconcile.Report) -> int:
    """Deliveries of the records `nas_reconcile.check` found missing or damaged on the report's
    share (and still held) back to pending, attempts reset, in one short transaction per
    `REQUEUE_ROWS` records; returns the count."""
    count = 0
    for rows in nas_reconcile.requeue_batches(report):
        with _immediate(conn):
            count += conn.executemany(nas_reconcile.REQUEUE_SQL, rows).rowcount
    return count


class _immediate:
    """One short write transaction: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self._conn.execute("COMMIT" if kind is None else "ROLLBACK")


def connect(data_dir: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """The store's database on a connection of its own (the daemon may be running); with
    `read_only`, one that cannot write the database (its temporary tables only)."""
    path = data_dir / DB_NAME
    if not path.exists():
        raise OutboxError(f"no record store at {path}")
    try:
        conn = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode=ro" if read_only else path,
            timeout=CLI_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            uri=read_only,
        )
        conn.execute(f"PRAGMA busy_timeout = {CLI_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise OutboxError(f"the record store cannot be opened ({exc})") from exc
    if version < OUTBOX_SCHEMA:
        conn.close()
        raise OutboxError(
            f"the record store has schema {version}; start the daemon once to migrate it"
        )
    return conn


# -- CLI -------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`outbox [--sink NAME] [status | dead | replay SEQ|all | drop SEQ | reconcile]`."""
    parser.add_argument("--sink", help="only this sink")
    actions = parser.add_subparsers(dest="outbox_action", metavar="ACTION")
    simple = (("status", "per-sink backlog, oldest age, counts"), ("dead", "dead letters"))
    for name, text in simple:
        actions.add_parser(name, help=text).add_argument(
            "--sink", default=argparse.SUPPRESS, help="only this sink"
        )
    rep = actions.add_parser("replay", help="dead letters back to pending (attempts reset)")
    rep.add_argument("target", help="a sequence number, or 'all'")
    rep.add_argument("--sink", default=argparse.SUPPRESS, help="only this sink")
    drp = actions.add_parser("drop", help="give a dead letter up (kept, marked dropped)")
    drp.add_argument("seq", type=int, help="the record's sequence number")
    drp.add_argument("--sink", default=argparse.SUPPRESS, help="only this sink")
    rec = actions.add_parser(
        "reconcile", help="check that NAS shares still hold what was delivered to them"
    )
    rec.add_argument("--sink", default=argparse.SUPPRESS, help="only this NAS sink")
    rec.add_argument(
        "--repair", action="store_true", help="missing or damaged records back to pending"
    )
    rec.add_argument("--json", action="store_true", help="one JSON object per sink")


def run(config: Config, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run one outbox action; JSON lines on `out`, errors on stderr."""
    sink: str | None = args.sink
    action = args.outbox_action or "status"
    try:
        if sink is not None and sink not in {s.name for s in config.sinks}:
            raise OutboxError(f"no sink named {sink!r} in the config")
        conn = connect(config.data_dir)
        try:
            if action == "reconcile":
                return _reconcile(conn, config, args, sink, out)
            return _act(conn, action, args, sink, out)
        except sqlite3.Error as exc:
            raise OutboxError(f"the record store failed ({exc})") from exc
        finally:
            conn.close()
    except OutboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL


def _act(
    conn: sqlite3.Connection, action: str, args: argparse.Namespace, sink: str | None, out: TextIO
) -> int:
    if action == "status":
        rows = status(conn, time.time(), sink)
    elif action == "dead":
        rows = dead_letters(conn, sink)
    elif action == "replay":
        target: str = args.target
        if target != "all" and not target.isdigit():
            raise OutboxError("replay expects a sequence number or 'all'")
        count = replay(conn, None if target == "all" else int(target), sink)
        if count == 0 and target != "all":
            raise OutboxError(f"record {target} has no dead or dropped delivery to replay")
        rows = [{"replayed": count}]
    else:
        count = drop(conn, args.seq, sink, time.time())
        if count == 0:
            raise OutboxError(f"record {args.seq} has no dead letter to drop")
        rows = [{"dropped": count}]
    for row in rows:
        out.write(json.dumps(row) + "\n")
    return EXIT_OK


def _reconcile(
    conn: sqlite3.Connection,
    config: Config,
    args: argparse.Namespace,
    sink: str | None,
    out: TextIO,
) -> int:
    """Check every NAS sink (or `sink`), re-queue with `--repair`; exit 0 only when all intact."""
    sinks = [s for s in config.sinks if sink is None or s.name == sink]
    if sink is not None and sinks[0].kind != "nas":
        raise OutboxError(f"sink {sink!r} is not a NAS sink; reconcile checks NAS shares")
    sinks = [s for s in sinks if s.kind == "nas"]
    if not sinks:
        raise OutboxError("no NAS sink in the config")
    code = EXIT_OK
    for nas in sinks:
        try:
            report = nas_reconcile.check(conn, nas, config.workstation.id)
        except nas_reconcile.ReconcileError as exc:
            print(f"error: sink {nas.name}: {exc}", file=sys.stderr)
            code = EXIT_FAIL
            continue
        if args.repair and (report.missing.count or report.damaged.count):
            report.requeued = requeue(conn, report)
        if not report.ok:
            code = EXIT_FAIL
        if args.json:
            out.write(json.dumps(report.as_json()) + "\n")
        else:
            out.write(report.summary() + "\n")
            if report.requeued is not None:
                out.write(
                    f"sink {nas.name}: re-queued {report.requeued} records; the sink writes"
                    " them again at its next pass\n"
                )
        if report.lost.count:
            print(
                f"error: sink {nas.name}: {report.lost.count} records purged from this"
                " workstation are missing or damaged on the share and cannot be sent again"
                f" (seqs {report.lost.text()})",
                file=sys.stderr,
            )
    return code
