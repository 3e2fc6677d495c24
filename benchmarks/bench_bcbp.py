"""BCBP parse throughput: 100k generated passes (1-4 legs, with and without conditional items)."""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from datetime import date

from benchmarks.common import line, median
from edge.documents.bcbp import parse_bcbp
from edge.documents.bcbp_gen import random_bcbp

_SCAN_DATE = date(2025, 3, 14)
_GOAL = 100_000


def passes(count: int, seed: int) -> list[str]:
    """`count` valid passes: a mix of 1-4 legs, with and without conditional and security items."""
    rng = random.Random(seed)
    return [random_bcbp(rng, scan_date=_SCAN_DATE) for _ in range(count)]


def run(data: list[str], repeats: int) -> list[float]:
    """Passes per second of each repetition; every pass must parse as valid."""
    rates = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        valid = sum(parse_bcbp(item, scan_date=_SCAN_DATE).valid for item in data)
        elapsed = time.perf_counter() - start
        if valid != len(data):
            raise SystemExit("a generated pass did not parse as valid")
        rates.append(len(data) / elapsed)
    return rates


def main(argv: list[str] | None = None) -> None:
    """Print the median passes/s over several repetitions."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000, help="passes per repetition")
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions")
    parser.add_argument("--seed", type=int, default=792, help="generator seed")
    args = parser.parse_args(argv)
    data = passes(args.count, args.seed)
    legs = statistics.fmean(int(item[1]) for item in data)
    conditional = sum(item[60:61] == ">" for item in data) / len(data)
    security = sum(
        "security_data" in parse_bcbp(item, scan_date=_SCAN_DATE).fields for item in data
    ) / len(data)
    print(
        f"bcbp parse, {len(data)} passes ({legs:.2f} legs on average, {conditional:.0%} with "
        f"conditional items, {security:.0%} with a security section), {args.repeats} repetitions"
    )
    run(data[: min(len(data), 10_000)], 1)  # warm the date caches and the allocator
    rates = run(data, args.repeats)
    line("median", f"{median(rates):,.0f} passes/s")
    line("min / max", f"{min(rates):,.0f} / {max(rates):,.0f} passes/s")
    line("goal", f">= {_GOAL:,} passes/s")


if __name__ == "__main__":
    main()
