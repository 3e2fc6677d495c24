"""The receiver's storage contract, its answer shapes, and the ingest decisions both backends share.

A backend stores a batch in one transaction: it looks up the ids, the predecessors and the images
the batch needs (`Lookup`; the images kept from deletion until it commits), lets `decide()`
answer each record, inserts the accepted ones with a unique constraint on the record id (a row
that lost a race to another process is answered again from the row that won), and commits before
the receipts leave.

A record is stored only with every image its body references: one whose image is not held here
gets no receipt (the workstation sends it again, images first), one whose image has another size
than its body says is rejected `blob_size_mismatch`, and one whose image list cannot be read is
rejected `bad_body` (a sealed body never changes: sending it again cannot help).

A batch sealed with a retired key is a workstation's backlog from before a re-key: its records
are stored only below the first seq stored under a key that came after it (`Newer`; looked up in
the same transaction, `Lookup.retired_from`); one at or above it is rejected `retired_key`, so
whoever holds a retired key cannot add records after a newer key's chain started.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import msgspec

from edge.wire import GENESIS, Receipt, Status

# The images a record body references: (sha256, size) pairs.
BlobRefs = tuple[tuple[str, int], ...]

# Answers are bounded: the most records one page returns, the most gaps a chain status lists.
MAX_PAGE = 1000
MAX_GAPS = 1000


class Checked(NamedTuple):  # a tuple, not a dataclass: one is built per record received
    """A record of a batch after its signature and hash checks ("" when they passed), with the
    images its body references (None: a body whose image list cannot be read)."""

    id: str
    seq: int
    body: bytes
    prev: bytes
    hash: bytes
    sig: bytes
    reason: str = ""
    blobs: BlobRefs | None = ()


@dataclass(slots=True)
class Lookup:
    """What a batch needs to know from the database: its ids, hashes stored at seq - 1, and the
    sizes of the images it references that are stored."""

    by_id: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # id -> (seq, hash)
    at_seq: dict[int, set[bytes]] = field(default_factory=dict)  # seq -> hashes stored there
    blobs: dict[str, int] = field(default_factory=dict)  # sha256 -> size, of those stored
    # For a batch under a retired key: the first seq stored under a newer key (None: no bound).
    retired_from: int | None = None


class Newer(NamedTuple):
    """The keys that replaced a retired key in turn, the current one last (`trust.newer_keys`);
    not `ordered` (none recorded): the current key alone, bound as before (sql.OTHER_KEY_AFTER)."""

    keys: tuple[str, ...]
    ordered: bool


def wanted(records: Sequence[Checked]) -> tuple[list[str], list[int], list[str]]:
    """The ids to look up, the predecessor seqs whose hashes linkage needs, and the images the
    records reference (none for a batch without images: no query)."""
    ids = [r.id for r in records if not r.reason]
    preds = sorted({r.seq - 1 for r in records if not r.reason and r.prev != GENESIS})
    shas = sorted({sha for r in records if r.blobs and not r.reason for sha, _ in r.blobs})
    return ids, preds, shas


def decide(records: Sequence[Checked], lookup: Lookup) -> list[Receipt | None]:
    """One receipt per record, or None for one held back: an image it references is not stored
    (no receipt: the workstation sends it again, images first). `lookup` is updated with the
    records this batch stores."""
    receipts: list[Receipt | None] = []
    for rec in records:
        if rec.reason:
            receipts.append(Receipt(rec.id, rec.seq, Status.REJECTED, rec.reason))
            continue
        known = lookup.by_id.get(rec.id)
        if known is not None:
            receipts.append(answer_existing(rec, known[1]))
            continue
        if lookup.retired_from is not None and rec.seq >= lookup.retired_from:
            receipts.append(Receipt(rec.id, rec.seq, Status.REJECTED, RETIRED_KEY))
            continue
        before = lookup.at_seq.get(rec.seq - 1)
        # No record stored at seq - 1 is a gap (a dead letter, or one not here yet), not a break.
        if rec.prev != GENESIS and before and rec.prev not in before:
            receipts.append(Receipt(rec.id, rec.seq, Status.REJECTED, "chain_broken"))
            continue
        if rec.blobs is None:
            receipts.append(Receipt(rec.id, rec.seq, Status.REJECTED, "bad_body"))
            continue
        verdict = _images(rec.blobs, lookup.blobs) if rec.blobs else ""
        if verdict == HELD_BACK:
            receipts.append(None)
            continue
        if verdict:
            receipts.append(Receipt(rec.id, rec.seq, Status.REJECTED, verdict))
            continue
        lookup.by_id[rec.id] = (rec.seq, rec.hash)
        lookup.at_seq.setdefault(rec.seq, set()).add(rec.hash)
        receipts.append(Receipt(rec.id, rec.seq, Status.STORED))
    return receipts


# The rejection of a record sealed with a retired key at or after a newer key's first seq.
RETIRED_KEY = "retired_key"


# `_images()`'s answer for a record with an image not stored yet: no receipt, not a rejection.
HELD_BACK = "blob_missing"


def _images(refs: BlobRefs, held: dict[str, int]) -> str:
    """Empty when every image is stored with the size the body gives; blob_size_mismatch when
    one has another size (for ever: its bytes match its digest); else HELD_BACK when one is not
    stored."""
    out = ""
    for sha, size in refs:
        stored = held.get(sha)
        if stored is None:
            out = HELD_BACK
        elif stored != size:
            return "blob_size_mismatch"
    return out


def answer_existing(rec: Checked, stored_hash: bytes) -> Receipt:
    """The answer for a record whose id is already stored: a resend, or another record's id."""
    if stored_hash == rec.hash:
        return Receipt(rec.id, rec.seq, Status.DUPLICATE)
    return Receipt(rec.id, rec.seq, Status.REJECTED, "conflict")


class RecordOut(msgspec.Struct, frozen=True):
    """A stored record as the GET endpoints show it; `n` is the receiver's insertion number."""

    n: int
    id: str
    workstation: str
    seq: int
    body: str
    prev: str
    hash: str
    sig: str
    key_id: str
    received_at: float


class RecordPage(msgspec.Struct, frozen=True):
    records: list[RecordOut]
    next: str  # pass as `after` for the next page


class Cursor(NamedTuple):
    """A place in the listing of every record, which runs in commit order: after the row `n`
    inserted by the transaction `xid` (PostgreSQL's; 0 on SQLite, whose single writer commits
    in `n` order, and for rows stored before PostgreSQL recorded it). `xid` None: a plain `n`,
    as `next` was before tokens, which the storage places (`Storage.listing`)."""

    xid: int | None
    n: int


START = Cursor(0, 0)
_CURSOR = re.compile(r"(?:([0-9]{1,20})\.)?([0-9]{1,19})", re.ASCII)


def cursor_token(cursor: Cursor) -> str:
    """The opaque `after` token of a cursor, the same kind for both backends."""
    return f"{cursor.xid}.{cursor.n}"


def parse_cursor(token: str) -> Cursor | None:
    """A cursor from its token, or from a plain `n` as `next` was before tokens (xid None);
    None when it is neither."""
    found = _CURSOR.fullmatch(token)
    if found is None:
        return None
    xid, n = None if found[1] is None else int(found[1]), int(found[2])
    if (xid or 0) >= 2**64 or n >= 2**63:
        return None
    return Cursor(xid, n)


class WorkstationOut(msgspec.Struct, frozen=True):
    workstation: str
    count: int
    last_seq: int
    last_received_at: float


class Workstations(msgspec.Struct, frozen=True):
    workstations: list[WorkstationOut]


class KeyUse(msgspec.Struct, frozen=True):
    """One key a workstation's stored records were sealed with, and where in its sequence."""

    key_id: str
    first_seq: int
    last_seq: int
    count: int


class ChainStatus(msgspec.Struct, frozen=True):
    """Per-workstation chain status: gaps are inclusive [first, last] ranges of missing seqs."""

    workstation: str
    count: int
    first_seq: int
    last_seq: int
    contiguous_to: int  # the last seq reached from first_seq without a gap
    gaps: list[tuple[int, int]]
    gaps_truncated: bool
    chain_starts: list[int]  # seqs whose prev is the genesis hash (a new key or store)
    # Chain starts under a key another key had replaced by then: that key's first stored seq
    # lies between the starting key's first seq and this one (a retired key sealing on).
    replaced_key_starts: list[int]
    # Seqs that do not link to the record stored at seq - 1: a chain start under that record's
    # key (a quarantined store, or a chain cut), or a prev that is not that record's hash.
    breaks: list[int]
    keys: list[KeyUse]  # by first seq


def record_out(values: Sequence[Any]) -> RecordOut:
    """A row of `sql.GET_RECORD` or a page query (either driver's column types) as shown."""
    n, ws, seq, rid, body, prev, digest, sig, kid, at = values
    return RecordOut(
        n=n,
        id=rid,
        workstation=ws,
        seq=seq,
        body=bytes(body).decode("utf-8"),
        prev=bytes(prev).hex(),
        hash=bytes(digest).hex(),
        sig=bytes(sig).hex(),
        key_id=kid,
        received_at=at,
    )


def seq_page(rows: Sequence[Sequence[Any]], after: int) -> RecordPage:
    """A page of `sql.PAGE_WORKSTATION` rows; `next` is the last seq."""
    out = [record_out(r) for r in rows]
    return RecordPage(out, str(out[-1].seq if out else after))


def listing_page(out: list[RecordOut], last: Cursor) -> RecordPage:
    """A page of the listing of every record; `last` is the cursor of its last row (or the
    cursor it started after, when it is empty)."""
    return RecordPage(out, cursor_token(last))


def chain_status(
    workstation: str,
    count: int,
    first: int,
    last: int,
    gaps: list[tuple[int, int]],
    starts: list[int],
    replaced: list[int],
    breaks: list[int],
    keys: Sequence[Sequence[Any]],
) -> ChainStatus:
    """The status from the `sql.CHAIN_*` answers (either driver's column types)."""
    truncated = len(gaps) > MAX_GAPS
    return ChainStatus(
        workstation=workstation,
        count=count,
        first_seq=first,
        last_seq=last,
        contiguous_to=gaps[0][0] - 1 if gaps else last,
        gaps=gaps[:MAX_GAPS],
        gaps_truncated=truncated,
        chain_starts=starts[:MAX_GAPS],
        replaced_key_starts=replaced[:MAX_GAPS],
        breaks=breaks[:MAX_GAPS],
        keys=[KeyUse(str(k), int(a), int(b), int(n)) for k, a, b, n in keys],
    )


class AlertListMeta(NamedTuple):
    """A published alert list (the signed file is opaque here; the publisher verified it)."""

    version: int
    sha256: str
    size: int
    published_at: float


# Published alert lists a receiver keeps (older ones are deleted when a new one is stored).
KEEP_ALERT_LISTS = 5


def publish_decision(
    latest: int | None, same_version_sha256: str | None, sha256: str, version: int
) -> str:
    """stored, duplicate (this exact list again), conflict (its version with other content) or
    older (a newer list is published): lists only move forward."""
    if same_version_sha256 is not None:
        return "duplicate" if same_version_sha256 == sha256 else "conflict"
    if latest is not None and version < latest:
        return "older"
    return "stored"


class Storage(ABC):
    """Where a receiver keeps records and blobs. Every write is durable before it returns."""

    @abstractmethod
    async def open(self) -> None:
        """Connect and create the schema (idempotent, safe from several processes at once)."""

    @abstractmethod
    async def close(self) -> None: ...

    async def ingest(
        self,
        workstation: str,
        key_id: str,
        records: Sequence[Checked],
        received_at: float,
        newer: Newer | None = None,
    ) -> list[Receipt]:
        """Answer and store a checked batch; one sealed with a retired key (`newer`: the keys
        newer than it) only below the first seq stored under one of those (`retired_key`)."""
        return await self.store_batch(workstation, key_id, newer, records, received_at)

    @abstractmethod
    async def store_batch(
        self,
        workstation: str,
        key_id: str,
        newer: Newer | None,
        records: Sequence[Checked],
        received_at: float,
    ) -> list[Receipt]:
        """Answer and store a checked batch in one transaction; receipts in batch order. With
        `newer`, `Lookup.retired_from` is looked up in it, after every earlier batch committed."""

    @abstractmethod
    async def put_blob(self, sha256: str, data: bytes, received_at: float) -> bool:
        """Store a blob whose digest was checked; False when it was already there."""

    @abstractmethod
    async def has_blob(self, sha256: str) -> bool: ...

    @abstractmethod
    async def get_blob(self, sha256: str) -> bytes | None: ...

    @abstractmethod
    async def record(self, record_id: str) -> RecordOut | None: ...

    @abstractmethod
    async def records(self, workstation: str, after: int, limit: int) -> RecordPage:
        """One workstation's records by seq, after the seq `after`."""

    @abstractmethod
    async def listing(self, after: Cursor, limit: int) -> RecordPage:
        """Every workstation's records in commit order, after `after`: paging with `next` sees
        each record exactly once, whatever writers commit meanwhile and in whichever order.
        After a plain `n` (xid None): every record stored after the row `n`, and few others."""

    @abstractmethod
    async def workstations(self) -> Workstations: ...

    @abstractmethod
    async def chain(self, workstation: str) -> ChainStatus | None: ...

    @abstractmethod
    async def publish_alert_list(
        self, version: int, sha256: str, body: bytes, published_at: float
    ) -> str:
        """Keep a signed alert list: `publish_decision()`'s answer, durable when "stored"."""

    @abstractmethod
    async def latest_alert_list(self) -> AlertListMeta | None:
        """The highest published version, without its body."""

    @abstractmethod
    async def alert_list_body(self, version: int) -> bytes | None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise StorageError when the database does not answer."""
