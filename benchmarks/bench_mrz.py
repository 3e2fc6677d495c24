"""MRZ parse + validate + fields: midas-edge against PassportEye and PyPI ``mrz`` 0.6.2.

Same synthetic MRZs for every parser (60 % TD3, 30 % TD1, 10 % TD2, fixed seed, built with
`edge.documents.mrz_gen`), measured in one run, the parsers taking turns on small slices.
Time is the CPU time of this process, so that other load on the machine skews neither the
figures nor the ratios. Prints the median over repetitions of the microseconds per MRZ and our
speed-up over each peer, with the range of the speed-ups measured within each repetition. A
peer that is not installed is skipped (``make .venv/.bench``).

Run: ``python -m benchmarks.bench_mrz [count] [repetitions]``.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from collections.abc import Callable

from edge.documents.mrz import parse_mrz
from edge.documents.mrz_gen import Format, random_mrz

SEED = 9303
COUNT = 100_000
REPETITIONS = 3
CHUNK = 500
MIX: tuple[tuple[Format, float], ...] = (("td3", 0.6), ("td1", 0.3), ("td2", 0.1))

Items = list[tuple[str, str]]
Runner = Callable[[Items], None]  # parses every (format, text) of a slice


def corpus(count: int, seed: int = SEED) -> Items:
    """(format, MRZ text) pairs in a shuffled mix of `MIX`."""
    rng = random.Random(seed)
    formats: list[Format] = [fmt for fmt, share in MIX for _ in range(round(count * share))]
    rng.shuffle(formats)
    return [(fmt, random_mrz(rng, fmt)) for fmt in formats]


def _ours() -> Runner:
    def run(items: Items) -> None:
        for _, text in items:
            parse_mrz(text)

    return run


def _passporteye() -> Runner:
    from passporteye.mrz.text import MRZ

    def run(items: Items) -> None:
        for _, text in items:
            MRZ(text.split("\n")).to_dict()

    return run


def _mrz_pypi() -> Runner:
    from mrz.checker.td1 import TD1CodeChecker
    from mrz.checker.td2 import TD2CodeChecker
    from mrz.checker.td3 import TD3CodeChecker

    checkers = {"td1": TD1CodeChecker, "td2": TD2CodeChecker, "td3": TD3CodeChecker}

    def run(items: Items) -> None:
        for fmt, text in items:
            checkers[fmt](text).fields()

    return run


def measure(
    contenders: list[tuple[str, Runner]], items: Items, repetitions: int
) -> dict[str, list[float]]:
    """CPU microseconds per item of each contender, one figure per repetition.

    Contenders take turns on slices of `CHUNK` items, so that they share whatever state the
    machine is in (frequency, caches, other load) instead of meeting it at different times.
    """
    gc.collect()
    gc.freeze()  # what is alive now (libraries, corpus) is never scanned again by a collection
    runs: dict[str, list[float]] = {label: [] for label, _ in contenders}
    for _ in range(repetitions):
        spent = dict.fromkeys(runs, 0.0)
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            for label, run in contenders:
                gc.collect()  # each contender pays for its own garbage, not its predecessor's
                begin = time.process_time()
                run(chunk)
                spent[label] += time.process_time() - begin
        for label, seconds in spent.items():
            runs[label].append(seconds / len(items) * 1e6)
    gc.unfreeze()
    return runs


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and print the figures."""
    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else COUNT
    repetitions = int(args[1]) if len(args) > 1 else REPETITIONS
    items = corpus(count)
    valid = sum(parse_mrz(text).valid for _, text in items)
    print(f"{count} synthetic MRZs (60 % TD3, 30 % TD1, 10 % TD2, seed {SEED}), {valid} valid")
    contenders: list[tuple[str, Runner]] = [("midas-edge parse_mrz", _ours())]
    peers: tuple[tuple[str, Callable[[], Runner]], ...] = (
        ("passporteye MRZ(...).to_dict()", _passporteye),
        ("mrz 0.6.2 TDxCodeChecker.fields", _mrz_pypi),
    )
    for label, load in peers:
        try:
            contenders.append((label, load()))
        except ImportError as exc:
            print(f"{label}: skipped, not installed ({exc.name}); run `make .venv/.bench`")
    runs = measure(contenders, items, repetitions)
    ours = runs["midas-edge parse_mrz"]
    print(
        f"median of {repetitions} repetitions, CPU microseconds per MRZ (parse + validate + fields)"
    )
    for label, values in runs.items():
        us = statistics.median(values)
        ratio = ""
        if values is not ours:
            # Ratios within one repetition compare contenders that ran side by side.
            ratios = [peer / mine for peer, mine in zip(values, ours, strict=True)]
            ratio = (
                f"  midas-edge is {us / statistics.median(ours):.1f}x faster"
                f" (per repetition {min(ratios):.1f}-{max(ratios):.1f}x)"
            )
        print(f"  {label:32s} {us:8.2f} us  ({1e6 / us:9,.0f} MRZ/s){ratio}")


if __name__ == "__main__":
    main()
