"""Named crash points for the crash tests: `point(name)` kills the process with SIGKILL when the
environment variable MIDAS_EDGE_FAULT_POINT (read once, at import) names that point.

It exists only so tests/reliability can crash the daemon at an exact step (after a send, between
a batch's writes and its renames, after signing); in production the variable is unset and each
point costs one string comparison and does nothing.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "MIDAS_EDGE_FAULT_POINT"
_ARMED: str | None = os.environ.get(FAULT_ENV) or None


def point(name: str) -> None:
    """Die by SIGKILL (no cleanup, no flush) when `name` is the armed point; else nothing."""
    if name == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
