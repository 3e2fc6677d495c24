"""The installed service on a system run by systemd: its state; starting or restarting it.

systemd runs the system when `/run/systemd/system` exists (as sd_booted(3) tells). The unit
counts as running in every state in which its process may hold the store and the devices:
`active`, `reloading`, `activating` (also while it waits to be restarted after a failure),
`deactivating`. After the install and identity steps the service is started when it is not
running, and restarted when the config, the units, the rules or the certificate changed, so
that what was written is what runs; nothing is done when nothing changed.
"""

from __future__ import annotations

import shutil
import subprocess

from provisioning.changes import Applier
from provisioning.install import SYSTEMD_RUNNING
from provisioning.system import UNIT_NAME

STATE_TIMEOUT_S = 30.0
RUNNING_STATES = frozenset({"active", "reloading", "activating", "deactivating", "refreshing"})


def systemd_running() -> bool:
    """Whether systemd runs this system (and systemctl is there to ask it)."""
    return shutil.which("systemctl") is not None and SYSTEMD_RUNNING.is_dir()


def unit_answer(question: str) -> str:
    """`systemctl <question>` of the unit (is-active, is-enabled): its one-word answer, or
    "unknown" when systemctl is missing or does not answer."""
    tool = shutil.which("systemctl")
    if tool is None:
        return "unknown"
    try:
        result = subprocess.run(  # noqa: S603  # systemctl by its full path, no shell
            [tool, question, UNIT_NAME],
            capture_output=True,
            text=True,
            timeout=STATE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def active_state() -> str:
    """`systemctl is-active` of the unit: active, activating, inactive, failed, ...; or unknown."""
    return unit_answer("is-active")


def is_running(state: str) -> bool:
    """Whether a unit in `state` may hold the store: anything but inactive, failed or unknown."""
    return state in RUNNING_STATES


def bring_up(applier: Applier, changed: bool) -> str:
    """Start the service, or restart it when what it runs on changed; the summary."""
    state = active_state()
    if not is_running(state):
        applier.run(["systemctl", "start", UNIT_NAME], "start the service (enabled at boot)")
        return f"{UNIT_NAME} started (it was {state})"
    if changed:
        applier.run(["systemctl", "restart", UNIT_NAME], "run the new config, units, certificate")
        return f"{UNIT_NAME} restarted ({state} before)"
    return f"{UNIT_NAME} {state}; nothing it runs on changed"
