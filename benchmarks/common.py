"""Small shared helpers for benchmarks: medians, percentiles, printing."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def line(label: str, value: str) -> None:
    print(f"  {label:<48} {value}")


async def until(predicate: Callable[[], bool], step: float = 0.001) -> None:
    """Poll `predicate` every `step` seconds: benchmarks watch state without hooking into it."""
    while not predicate():  # noqa: ASYNC110  # polling is the point: no event to wait on
        await asyncio.sleep(step)
