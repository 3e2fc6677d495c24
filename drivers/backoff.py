"""Reconnect policy: capped exponential backoff with full jitter."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from `base` up to `cap`, each drawn uniformly below the ceiling."""

    def __init__(
        self, base: float = 0.2, cap: float = 30.0, rng: random.Random | None = None
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("expected 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not cryptography

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        growth: float = self.base * 2.0 ** min(self.attempt, 32)
        return min(self.cap, growth)

    def next_delay(self) -> float:
        """The next delay in seconds; never less than a tenth of base, so retries never spin."""
        ceiling = self.ceiling()
        self.attempt += 1
        return max(self.base / 10, self._rng.uniform(0, ceiling))

    def reset(self) -> None:
        self.attempt = 0
