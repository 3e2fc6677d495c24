"""Run every benchmark (`python -m benchmarks`) or the named ones (`... benchmarks ingest`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main() -> None:
    wanted = set(sys.argv[1:])
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    for name in names:
        if wanted and name.removeprefix("bench_") not in wanted:
            continue
        print(f"== {name}")
        module = importlib.import_module(f"benchmarks.{name}")
        module.main([])
        print()


main()
