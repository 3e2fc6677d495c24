"""In-memory lookup over a verified list: sorted 64-bit halves of the digests, no object per entry.

For a million entries the list in force holds the 26.7 MiB file and 20.5 MiB of arrays built
here (the two 8-byte halves, 4-byte reference ends, a 512 KiB table of where each 16-bit prefix
starts). `benchmarks/bench_alerts.py` measures 58.6 MiB of resident memory added by loading it
(the build's temporaries are freed, but the allocator keeps part of them) and a peak of about
109 MiB while a newer list is verified and indexed beside the one in force. A lookup is one
binary search among the ~15 entries of its prefix.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.alerts.errors import ListRefused
from edge.alerts.listfile import Category, ListFile
from edge.alerts.normalize import DIGEST_BYTES

_CATEGORIES = np.array([int(c) for c in Category], dtype=np.uint8)
# Lookups start from where the first PREFIX_BITS of the digest start: ~15 entries to search in
# a million instead of all of them.
PREFIX_BITS = 16
_SHIFT = 64 - PREFIX_BITS


@dataclass(frozen=True, slots=True)
class Hit:
    """One matching entry: its category and headquarters' reference."""

    category: Category
    ref: str


class AlertIndex:
    """Exact lookups of digests in one list. Building checks the body: order, categories, refs."""

    def __init__(self, listed: ListFile) -> None:
        count = listed.header.entries
        halves = np.frombuffer(listed.digests, dtype=">u8").reshape(count, DIGEST_BYTES // 8)
        self._hi: npt.NDArray[np.uint64] = halves[:, 0].astype(np.uint64)
        self._lo: npt.NDArray[np.uint64] = halves[:, 1].astype(np.uint64)
        self._categories = np.frombuffer(listed.categories, dtype=np.uint8)
        refs = np.frombuffer(listed.refs, dtype=np.uint8)
        ends = np.flatnonzero(refs == ord("\n")).astype(np.uint32)
        if len(ends) != count or (count and int(ends[-1]) != len(refs) - 1):
            raise ListRefused("malformed", "the references do not match the entry count")
        if not np.isin(self._categories, _CATEGORIES).all():
            raise ListRefused("malformed", "an entry has an unknown category")
        hi, lo = self._hi, self._lo
        ordered = (hi[1:] > hi[:-1]) | ((hi[1:] == hi[:-1]) & (lo[1:] >= lo[:-1]))
        if not ordered.all():
            raise ListRefused("malformed", "the digests are not in ascending order")
        self._ends = ends
        self._refs = listed.refs
        # Native-order views that bisect reads as Python ints: cheaper per lookup than a numpy
        # call on one value.
        self._hi_view = self._hi.data.cast("B").cast("Q")
        self._lo_view = self._lo.data.cast("B").cast("Q")
        edges = np.arange(1 << PREFIX_BITS, dtype=np.uint64) << np.uint64(_SHIFT)
        starts = np.empty((1 << PREFIX_BITS) + 1, dtype=np.int64)
        starts[:-1] = np.searchsorted(self._hi, edges)
        starts[-1] = count
        self._starts = starts
        self._starts_view = starts.data.cast("B").cast("q")
        self.entries = count

    def lookup(self, digest: bytes) -> list[Hit]:
        """Every entry whose digest is `digest` (usually none, sometimes one)."""
        hi = int.from_bytes(digest[:8], "big")
        lo = int.from_bytes(digest[8:DIGEST_BYTES], "big")
        his, los, starts = self._hi_view, self._lo_view, self._starts_view
        prefix = hi >> _SHIFT
        i = bisect.bisect_left(his, hi, starts[prefix], starts[prefix + 1])
        hits: list[Hit] = []
        while i < self.entries and his[i] == hi:
            if los[i] == lo:
                hits.append(self._hit(i))
            i += 1
        return hits

    def _hit(self, i: int) -> Hit:
        start = int(self._ends[i - 1]) + 1 if i else 0
        ref = bytes(self._refs[start : int(self._ends[i])]).decode("ascii", "replace")
        return Hit(Category(int(self._categories[i])), ref)

    def nbytes(self) -> int:
        """Memory of the arrays built here (the file's body is counted by its holder)."""
        return int(self._hi.nbytes + self._lo.nbytes + self._ends.nbytes + self._starts.nbytes)
