"""`midas-edge doctor`: the provisioning checks on a workstation in service, changing nothing.

Config, permissions of the data dir, keys and token, devices present (their stable paths)
and READY (when the daemon's API answers), clock, disk headroom and quota, sink reachability
(and the clock against the server's Date header), backlog age and dead letters, certificate
expiry, and the unit (is-enabled / is-active under systemd; the staged files under --root).
Every problem names the command that fixes it; exit 1 when there is any.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from drivers.registry import Registry, default_registry
from edge.config import Config, load
from edge.devices import resolve_drivers
from edge.errors import EdgeError
from provisioning import doctor_checks as checks
from provisioning.install import WANTS_LINK
from provisioning.selftest import CheckResult
from provisioning.service import systemd_running, unit_answer
from provisioning.system import SERVICE_GROUP, UNIT_NAME
from provisioning.udev import RULES_PATH
from provisioning.units import UNIT_PATH

DEFAULT_MAX_BACKLOG_S = 3600.0


def check_config(
    path: str, where: checks.Where, registry: Registry
) -> tuple[Config | None, CheckResult]:
    staged = where(path)
    try:
        config = load(staged)
        resolve_drivers(config, registry, path)
    except EdgeError as exc:
        fix = f"midas-edge config check {staged}  # or: {where.provision}"
        if checks.present(staged) and not os.access(staged, os.R_OK):
            fix = (
                f"chown root:{SERVICE_GROUP} {staged} && chmod 640 {staged} "
                f"(the doctor reads it as a member of {SERVICE_GROUP}); or: {checks.AS_ROOT}"
            )
        return None, CheckResult("config valid", False, str(exc), fix)
    return config, CheckResult("config valid", True, path)


def enabled_fix(state: str) -> str:
    """The command that enables the unit from `systemctl is-enabled`'s answer."""
    if state == "enabled":
        return ""
    if state.startswith("masked"):
        return f"systemctl unmask {UNIT_NAME} && systemctl enable --now {UNIT_NAME}"
    if state == "not-found":
        return "midas-edge provision  # installs the unit"
    return f"systemctl enable --now {UNIT_NAME}"


def unit_state(where: checks.Where) -> list[CheckResult]:
    if where.root is not None:
        out = []
        for name, target in (
            ("unit", UNIT_PATH),
            ("enabled", WANTS_LINK),
            ("udev rules", RULES_PATH),
        ):
            path = where(target)
            ok = path.exists() or path.is_symlink()
            out.append(
                CheckResult(f"{name} installed", ok, str(target), "" if ok else where.provision)
            )
        return out
    if not systemd_running():
        return [CheckResult("unit state", None, "systemd is not running here")]
    enabled, active = unit_answer("is-enabled"), unit_answer("is-active")
    return [
        CheckResult("unit enabled", enabled == "enabled", enabled, enabled_fix(enabled)),
        CheckResult(
            "unit active",
            active == "active",
            active,
            ""
            if active == "active"
            else f"systemctl restart {UNIT_NAME}; journalctl -u {UNIT_NAME}",
        ),
    ]


async def diagnose(
    config_path: str,
    root: Path | None,
    *,
    registry: Registry = default_registry,
    max_backlog_s: float = DEFAULT_MAX_BACKLOG_S,
    now: float | None = None,
) -> list[CheckResult]:
    """Every check, in order; nothing is changed."""
    where = checks.Where(root, config_path)
    moment = checks.now_s() if now is None else now
    config, result = check_config(config_path, where, registry)
    out = [result]
    if config is not None:
        c = config
        out += guarded("permissions", lambda: checks.permissions(c, config_path, where))
        out += guarded("devices present", lambda: checks.devices_present(c, where))
        out += guarded("devices ready", lambda: checks.devices_ready(c, where))
    out += guarded("clock", lambda: [checks.clock(moment)])
    if config is not None:
        c = config
        out += guarded("disk", lambda: checks.disk(c, where))
        for sink in config.sinks:
            if sink.kind == "http":
                try:
                    out += await checks.http_sink(sink, where, moment)
                except Exception as exc:  # reported as a failed check, see guarded()
                    out.append(_crashed(f"sink {sink.name} reachable", exc))
        out += guarded("sinks", lambda: checks.sinks(c, where, moment))
        out += guarded("backlog", lambda: checks.backlog(c, where, moment, max_backlog_s))
    out += guarded("unit", lambda: unit_state(where))
    return out


def _crashed(name: str, exc: Exception) -> CheckResult:
    what = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return CheckResult(name, False, f"could not be checked ({what})", checks.AS_ROOT)


def guarded(name: str, check: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    """The check's results; a check that fails to run is one failed result, never a traceback.

    The doctor runs on a workstation in trouble: an unexpected error (a file that vanishes, a
    directory it may not read) is what it is there to report, and the other checks still run.
    """
    try:
        return check()
    except Exception as exc:  # turned into a failed check with a fix
        return [_crashed(name, exc)]


def render(results: list[CheckResult], out: TextIO, *, as_json: bool) -> int:
    """Print the results; the exit code (1 when anything failed)."""
    failed = [r for r in results if r.ok is False]
    if as_json:
        body = {"ok": not failed, "checks": [r.as_dict() for r in results]}
        print(json.dumps(body, indent=2), file=out)
        return 1 if failed else 0
    for r in results:
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[r.ok]
        print(f"{mark} {r.name}: {r.detail}", file=out)
        if r.ok is False and r.fix:
            print(f"       fix: {r.fix}", file=out)
    summary = f"{len(failed)} problem(s)" if failed else "no problems"
    print(f"doctor: {summary} in {len(results)} checks", file=out)
    return 1 if failed else 0
