"""Checking a record against the list in force, before the record is stored and published.

The record gets `payload.alert` (`Outcome`) and `checks.alert_list`: failed on a hit, passed
when no entry matched, undetermined without a list in force, not_applicable when the record
holds no identifier to check. A stale list still checks, and each record says so.

A read whose check digits failed is still checked (a hit on a misread or altered document is
still worth the officer's attention) but the outcome says `unverified`: its identifiers may be
misread, so "no hit" is no assurance and `checks.alert_list` is undetermined, not passed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from prometheus_client import Counter

from edge.alerts.index import Hit
from edge.alerts.keeper import InForce, ListKeeper
from edge.alerts.metrics import AlertMetrics
from edge.alerts.normalize import record_keys
from edge.documents.mrz_fields import CHECK_DIGIT_NAMES
from edge.documents.result import Check, Issue
from edge.records import Kind, Record

log = logging.getLogger("midas_edge.alerts")

HIT, NO_HIT, NOT_CHECKED = "hit", "no_hit", "not_checked"
STALE_WARNING = Issue("alert_list_stale", "checked against a stale alert list (past its expiry)")
MISSING_WARNING = Issue("alert_list_missing", "no alert list in force: not checked against one")
# Records that can name a traveller. Portraits and plain barcodes carry no identifier.
_CHECKED_KINDS = frozenset({Kind.DOCUMENT, Kind.CHIP, Kind.BARCODE})
# The machine zone's check digits (`edge.documents.mrz`): one failing makes the read unverified.
DIGIT_CHECKS = frozenset(CHECK_DIGIT_NAMES)


class Reference(msgspec.Struct, frozen=True):
    category: str  # lost_stolen | person_of_interest
    ref: str  # headquarters' opaque reference


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """`payload.alert` of a record: the verdict and the list it was reached with."""

    verdict: str  # hit | no_hit | not_checked
    reason: str | None = None  # why a key (or everything) was not checked
    checked: list[str] = msgspec.field(default_factory=list)  # "document", "person"
    categories: list[str] = msgspec.field(default_factory=list)
    references: list[Reference] = msgspec.field(default_factory=list)
    list_version: int | None = None
    list_issued_at: str | None = None
    list_expires_at: str | None = None
    stale: bool = False
    # The identifiers come from a read whose check digits failed: they may be misread.
    unverified: bool = False


def evaluate(
    fields: Mapping[str, Any], in_force: InForce | None, now: float, *, unverified: bool = False
) -> Outcome:
    """The outcome for a record's parsed fields against `in_force` (None: no list);
    `unverified` when the read's check digits failed."""
    keys = record_keys(fields)
    listed = _list_facts(in_force, now)
    if keys.document is None and keys.person is None:
        reason = keys.person_reason if keys.person_reason == "no_birth_date" else "no_identifiers"
        return Outcome(verdict=NOT_CHECKED, reason=reason, **listed)
    if in_force is None:
        return Outcome(verdict=NOT_CHECKED, reason="no_list")
    keyer, index = in_force.keyer, in_force.index
    hits: list[Hit] = []
    checked: list[str] = []
    if keys.document is not None:
        checked.append("document")
        hits += index.lookup(keyer.digest(keys.document))
    if keys.person is not None:
        checked.append("person")
        hits += index.lookup(keyer.digest(keys.person))
    missing = keys.document_reason or keys.person_reason or None
    if not hits:
        return Outcome(
            verdict=NO_HIT, reason=missing, checked=checked, unverified=unverified, **listed
        )
    references = list(dict.fromkeys(Reference(h.category.label, h.ref) for h in hits))
    categories = list(dict.fromkeys(r.category for r in references))
    return Outcome(
        verdict=HIT,
        reason=missing,
        checked=checked,
        categories=categories,
        references=references,
        unverified=unverified,
        **listed,
    )


def _list_facts(in_force: InForce | None, now: float) -> dict[str, Any]:
    """The `list_*` and `stale` fields of an outcome reached with `in_force`."""
    if in_force is None:
        return {}
    header = in_force.listed.header
    return {
        "list_version": header.version,
        "list_issued_at": header.issued_at,
        "list_expires_at": header.expires_at,
        "stale": in_force.stale(now),
    }


def unverified(record: Record) -> bool:
    """Whether a check digit of the read failed (its identifiers may be misread)."""
    checks = record.checks
    if Check.FAILED not in checks.values():
        return False
    return any(checks.get(name) == Check.FAILED for name in DIGIT_CHECKS)


def outcome_for(
    record: Record, fields: Mapping[str, Any], in_force: InForce | None, now: float
) -> Outcome:
    """`evaluate` for a record, marked `unverified` when its check digits failed."""
    return evaluate(fields, in_force, now, unverified=unverified(record))


def check_of(outcome: Outcome) -> Check:
    """The `alert_list` check of an outcome."""
    if outcome.verdict == HIT:
        return Check.FAILED
    if outcome.verdict == NO_HIT:
        return Check.UNDETERMINED if outcome.unverified else Check.PASSED
    return (
        Check.UNDETERMINED
        if outcome.reason in ("no_list", "check_failed")
        else (Check.NOT_APPLICABLE)
    )


def annotate(record: Record, outcome: Outcome) -> Record:
    """`record` carrying `outcome`: payload, check and the stale/missing warnings."""
    payload = {**record.payload, "alert": msgspec.to_builtins(outcome)}
    checks = {**record.checks, "alert_list": check_of(outcome)}
    warnings = list(record.warnings)
    if outcome.stale:
        warnings.append(STALE_WARNING)
    if outcome.reason == "no_list":
        warnings.append(MISSING_WARNING)
    return msgspec.structs.replace(record, payload=payload, checks=checks, warnings=warnings)


def fields_of(record: Record) -> Mapping[str, Any] | None:
    """The parsed fields of a record that can name a traveller, or None."""
    if record.kind not in _CHECKED_KINDS or (record.kind is Kind.BARCODE and not record.format):
        return None
    fields = record.payload.get("fields")
    return fields if isinstance(fields, dict) else {}


class AlertChecker:
    """The pipeline's check hook: Record -> Record, never raising (a failure is undetermined)."""

    def __init__(
        self, keeper: ListKeeper, metrics: AlertMetrics, clock: Callable[[], float] = time.time
    ) -> None:
        self._keeper = keeper
        self._metrics = metrics
        self._clock = clock
        # The counter of each (verdict, stale): labels() costs more than the check's lookups.
        self._counted: dict[tuple[str, bool], Counter] = {}

    def __call__(self, record: Record) -> Record:
        fields = fields_of(record)
        if fields is None:
            return record
        try:
            outcome = outcome_for(record, fields, self._keeper.current, self._clock())
        except Exception:
            # A check that fails must not lose the capture: it is stored, marked undetermined.
            log.exception("alert check failed", extra={"record_id": record.id})
            outcome = Outcome(verdict=NOT_CHECKED, reason="check_failed")
        self._count(outcome)
        return annotate(record, outcome)

    def _count(self, outcome: Outcome) -> None:
        key = (outcome.verdict, outcome.stale)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._metrics.checks.labels(verdict=key[0], stale=str(key[1]).lower())
            self._counted[key] = counter
        counter.inc()
