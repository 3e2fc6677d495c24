"""Re-checking stored records when a newer list arrives; a late hit becomes an amendment record.

Records captured in the last `recheck_days` that are still on the workstation (not purged by
retention) and were checked under an older list, or under none, are checked again. A hit that
the record (or an earlier amendment of it) did not already report is committed as a new record
of kind `amendment` that references the original: it is sealed, chained and forwarded like
any other, so headquarters learns of it. Records are immutable; the original stays as it was.

A record checked just before a newer list was put in force may be committed after it: the scan
covers the records committed before that moment (`through_seq`), and the records committed
after it that still carry an older list are re-checked one by one (`recheck_records`), so no
record falls between the two.

Which list the re-checks reached is kept in `<data_dir>/alert-recheck` so that a re-check cut
short by a stop runs again at the next start; amendments already made are not repeated.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from edge import records
from edge.alerts.check import HIT, Outcome, annotate, fields_of, outcome_for
from edge.alerts.keeper import InForce
from edge.errors import StoreError
from edge.records import DeviceRef, Kind, Record, Verdict, new_id, utc_timestamp
from edge.store import Store

log = logging.getLogger("midas_edge.alerts")

MARK_FILE = "alert-recheck"
PAGE = 500
AMENDMENT_FORMAT = "alert_amendment"
AMENDER = DeviceRef("alert-lists", "recheck")
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SCAN = (
    "SELECT seq, body FROM records WHERE seq > ? AND seq <= ? AND purged_at IS NULL"
    " AND captured_at >= ? ORDER BY seq LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class Report:
    version: int
    scanned: int
    rechecked: int
    amendments: list[Record]


def _refs(alert: Any) -> frozenset[tuple[str, str]]:
    if not isinstance(alert, dict) or alert.get("verdict") != HIT:
        return frozenset()
    return frozenset(
        (str(r.get("category")), str(r.get("ref")))
        for r in alert.get("references", [])
        if isinstance(r, dict)
    )


def needs_recheck(record: Record, version: int) -> bool:
    """Whether `record` names a traveller and was checked under an older list than `version`
    (or under none)."""
    if record.kind is Kind.AMENDMENT or fields_of(record) is None:
        return False
    alert = record.payload.get("alert")
    used = alert.get("list_version") if isinstance(alert, dict) else None
    return not (isinstance(used, int) and used >= version)


def amendment(original: Record, outcome: Outcome, workstation: str, now_ms: int) -> Record:
    """The amendment record reporting `outcome` (a late hit) for `original`."""
    base = Record(
        id=str(new_id()),
        workstation=workstation,
        seq=0,
        captured_at=utc_timestamp(now_ms),
        device=AMENDER,
        kind=Kind.AMENDMENT,
        format=AMENDMENT_FORMAT,
        verdict=Verdict.UNCHECKED,
        payload={
            "amends": {
                "id": original.id,
                "seq": original.seq,
                "captured_at": original.captured_at,
                "kind": str(original.kind),
            },
            "reason": "late_hit",
        },
        raw_sha256=_EMPTY_SHA256,
    )
    return annotate(base, outcome)


def read_mark(data_dir: Path) -> int:
    """The list version the last complete re-check used (0: none)."""
    try:
        return int((data_dir / MARK_FILE).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def write_mark(data_dir: Path, version: int) -> None:
    path = data_dir / MARK_FILE
    tmp = path.with_name(f".{MARK_FILE}.tmp")
    tmp.write_text(f"{version}\n")
    tmp.replace(path)


class Rechecker:
    """One re-check pass over the recent records of the store against a list in force."""

    def __init__(self, store: Store, workstation: str, days: float) -> None:
        self._store = store
        self._workstation = workstation
        self._days = days

    async def run(self, in_force: InForce, through_seq: int) -> Report:
        """Re-check the records up to `through_seq` and commit the amendments; returns once
        every amendment is durable."""
        now = time.time()
        since = utc_timestamp(int((now - self._days * 86400) * 1000))
        version = in_force.version
        reported: dict[str, frozenset[tuple[str, str]]] = {}
        candidates: list[Record] = []
        scanned = 0
        after = 0
        while True:
            rows = await self._store.query(_SCAN, (after, through_seq, since, PAGE))
            for seq, body in rows:
                after = int(seq)
                scanned += 1
                try:
                    record = records.decode(bytes(body))
                except msgspec.DecodeError:
                    log.error("stored record unreadable for re-check", extra={"seq": after})
                    continue
                if record.kind is Kind.AMENDMENT:
                    amends = record.payload.get("amends", {})
                    if isinstance(amends, dict) and isinstance(amends.get("id"), str):
                        reported[amends["id"]] = _refs(record.payload.get("alert"))
                    continue
                if not needs_recheck(record, version):
                    continue
                reported.setdefault(record.id, _refs(record.payload.get("alert")))
                candidates.append(record)
            if len(rows) < PAGE:
                break
            await asyncio.sleep(0)  # a long scan leaves room for captures
        amendments = self._late_hits(candidates, reported, in_force, now)
        await self._commit(amendments)
        return Report(version, scanned, len(candidates), amendments)

    async def recheck_records(self, committed: list[Record], in_force: InForce) -> list[Record]:
        """Re-check records committed after `in_force` was put in force but checked under an
        older list; commit and return the amendments."""
        now = time.time()
        candidates = [r for r in committed if needs_recheck(r, in_force.version)]
        reported = {r.id: _refs(r.payload.get("alert")) for r in candidates}
        amendments = self._late_hits(candidates, reported, in_force, now)
        await self._commit(amendments)
        return amendments

    def _late_hits(
        self,
        candidates: list[Record],
        reported: dict[str, frozenset[tuple[str, str]]],
        in_force: InForce,
        now: float,
    ) -> list[Record]:
        """The amendments for hits among `candidates` that `reported` does not hold yet."""
        amendments: list[Record] = []
        for record in candidates:
            outcome = outcome_for(record, fields_of(record) or {}, in_force, now)
            if outcome.verdict != HIT:
                continue
            found = frozenset((r.category, r.ref) for r in outcome.references)
            if found <= reported.get(record.id, frozenset()):
                continue  # already reported by the record or an earlier amendment
            amendments.append(amendment(record, outcome, self._workstation, int(now * 1000)))
        return amendments

    async def _commit(self, amendments: list[Record]) -> None:
        futures = [await self._store.append(a) for a in amendments]
        for future in futures:
            try:
                await future
            except StoreError:
                log.error("amendment could not be stored; the next re-check retries it")
                raise
