"""`midas-edge provision`: discover, configure, install, identity, service, self-test, report.

The steps run in that order: the install step creates the service account that owns the keys
the identity step writes (the config's owner is set as soon as the account exists); the
service is started (or restarted when what it runs on changed) once its keys and certificate
are there. Each step prints its progress, every change (or, with --dry-run, every change it
would make) and a verdict: ok (nothing to do), changed, skipped or failed. A failed step stops
the steps that need it. Running it again on a provisioned workstation changes nothing and
says so; the self-test then runs only if something it depends on changed (`--self-test`).

On a system run by systemd the self-test checks the running service through its local API;
under --root, or without systemd, it runs the daemon in this process on the written config.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from drivers.registry import Registry, default_registry
from edge.config import Config
from edge.errors import EdgeError
from provisioning.catalog import Catalog
from provisioning.changes import Applier, Verdict
from provisioning.choose import choose
from provisioning.configure import configure, read_existing
from provisioning.discover import Discovery, discover
from provisioning.errors import ProvisioningError
from provisioning.identity import establish
from provisioning.install import install
from provisioning.report import Report, StepResult
from provisioning.rerun import basis, last_passed
from provisioning.safefile import write_file
from provisioning.selftest import run_selftest
from provisioning.selftest_service import run_service_selftest
from provisioning.service import bring_up, systemd_running
from provisioning.settings import Settings, ask_missing, check
from provisioning.system import REPORT_JSON, REPORT_TEXT, SERVICE_GROUP, SERVICE_USER
from provisioning.ui import Console

STEPS = 6
REPORT_MODE = 0o640
VIA_SERVICE = "the running service (its local API)"
VIA_DAEMON = "a daemon started by provisioning"
# Steps whose changes the running service must be restarted for.
_RESTART_FOR = frozenset({"configure", "install", "identity"})


@dataclass
class Machine:
    """What the workstation offers; tests give a simulated USB bus where a machine has libusb."""

    registry: Registry = default_registry
    catalog: Catalog | None = None
    usb_backend: object | None = None
    systemd: bool | None = None  # None: whether systemd runs this system


class _Run:
    """One provisioning run: its applier, console and report."""

    def __init__(self, settings: Settings, console: Console, started: dt.datetime) -> None:
        self.settings = settings
        self.console = console
        self.applier = Applier(settings.root, settings.dry_run)
        self.stamp = started.strftime("%Y%m%dT%H%M%SZ")
        self.report = Report(
            settings.workstation or "",
            started.isoformat(timespec="seconds"),
            settings.dry_run,
            str(settings.root) if settings.root else None,
        )
        self.index = 0

    async def step(self, name: str, what: str, body: Callable[[], Awaitable[str]]) -> bool:
        """Run one step; whether it did not fail."""
        self.index += 1
        self.console.step(self.index, STEPS, name, what)
        applier = self.applier
        mark, notes_mark = len(applier.changes), len(applier.notes)
        result = StepResult(name, Verdict.OK, "")
        try:
            result.summary = await body()
        except (ProvisioningError, EdgeError) as exc:
            result.verdict, result.summary = Verdict.FAILED, str(exc)
            result.hints.append(f"{name}: {exc}")
        except OSError as exc:  # a file the system refuses: root needed, a read-only disk
            where = f" ({exc.filename})" if exc.filename else ""
            result.verdict, result.summary = Verdict.FAILED, f"{exc.strerror}{where}"
            result.hints.append(f"{name}: run as root, or stage with --root DIR")
        result.changes = applier.changes[mark:]
        result.notes += applier.notes[notes_mark:]
        if result.verdict is not Verdict.FAILED and result.changes:
            result.verdict = Verdict.CHANGED
        for change in result.changes:
            self.console.change(change, applier.dry_run)
        for note in result.notes:
            self.console.detail(f"note: {note}")
        self.console.verdict(name, result.verdict.value, result.summary)
        self.report.steps.append(result)
        return result.verdict is not Verdict.FAILED

    def skip(self, name: str, why: str) -> None:
        self.index += 1
        self.console.step(self.index, STEPS, name, "skipped")
        self.console.verdict(name, Verdict.SKIPPED.value, why)
        self.report.steps.append(StepResult(name, Verdict.SKIPPED, why))

    @property
    def restart_needed(self) -> bool:
        return any(s.changes for s in self.report.steps if s.name in _RESTART_FOR)


def _configured(applier: Applier, settings: Settings) -> dict[str, str]:
    """url -> driver of the enabled devices of the config already there."""
    existing, _ = read_existing(applier.path(PurePosixPath(settings.config_path)))
    devices = existing.get("devices", [])
    return {
        str(d.get("url")): str(d.get("driver"))
        for d in (devices if isinstance(devices, list) else [])
        if isinstance(d, dict) and d.get("enabled", True) is not False
    }


def _write_report(run: _Run, data_dir: Path) -> None:
    ids = run.applier.accounts.ids((SERVICE_USER, SERVICE_GROUP)) if run.applier.is_root else None
    for name, data in ((REPORT_JSON, run.report.to_json()), (REPORT_TEXT, run.report.summary())):
        payload = data if isinstance(data, bytes) else data.encode()
        # The data dir is the service account's: never follow what it may have put there.
        write_file(data_dir / name, payload, REPORT_MODE, ids)


async def provision(settings: Settings, console: Console, machine: Machine | None = None) -> Report:
    """One provisioning run; the report (also written to the data dir unless a dry run)."""
    machine = machine or Machine()
    if console.interactive:
        ask_missing(settings, console)
    else:
        check(settings)
    run = _Run(settings, console, dt.datetime.now(dt.UTC))
    catalog = machine.catalog or Catalog.load()
    found = Discovery()
    config: Config | None = None
    data_dir = run.applier.path(PurePosixPath(settings.data_dir))
    systemd = machine.systemd if machine.systemd is not None else systemd_running()
    via = VIA_SERVICE if settings.root is None and systemd else VIA_DAEMON

    async def step_discover() -> str:
        nonlocal found
        found = await discover(catalog, machine.registry, settings.root, machine.usb_backend)
        configured = _configured(run.applier, settings)
        run.applier.notes += found.notes
        run.applier.notes += choose(found, settings, console, machine.registry, configured)
        for item in found.found:
            how = f" ({item.family or item.candidate}, {item.how})" if item.how else ""
            console.detail(f"{item.describe()}: {item.status}{how}")
        run.report.hardware = [f.as_dict() for f in found.found]
        silent = [f.url for f in found.found if f.status == "no answer"]
        if silent:
            run.applier.notes.append(
                "did not answer their driver (cable, power, interface mode?): " + ", ".join(silent)
            )
        return f"{len(found.found)} found, {len(found.confirmed)} confirmed"

    async def step_configure() -> str:
        nonlocal config
        config, notes = configure(
            settings, found.confirmed, machine.registry, run.applier, run.stamp
        )
        run.applier.notes += notes
        devices = len([d for d in config.devices if d.enabled])
        return f"{settings.config_path}: {devices} devices, {len(config.sinks)} sinks"

    async def step_install() -> str:
        assert config is not None  # configure succeeded
        result = install(settings, config, found.found, run.applier)
        run.applier.notes += result.notes
        return result.summary

    async def step_identity() -> str:
        return (await establish(settings, run.applier)).summary

    async def step_service() -> str:
        return bring_up(run.applier, run.restart_needed)

    async def step_selftest(tested_on: str) -> str:
        assert config is not None
        try:
            if via == VIA_SERVICE:
                results = await run_service_selftest(config, console)
            else:
                results = await run_selftest(config, console, machine.registry, settings.root)
        finally:  # whatever the daemon run as root created goes to the service account
            if via == VIA_DAEMON:
                run.applier.chown_tree(
                    PurePosixPath(settings.data_dir), (SERVICE_USER, SERVICE_GROUP)
                )
        run.report.checks = results
        failed = [r.name for r in results if r.ok is False]
        passed_at = None if failed else run.report.started_at
        run.report.self_test = {"via": via, "basis": tested_on, "passed_at": passed_at}
        if failed:
            raise ProvisioningError("failed: " + ", ".join(failed))
        passed = len([r for r in results if r.ok])
        return f"{passed} checks passed, {len(results) - passed} skipped, through {via}"

    await run.step("discover", "USB serial, USB, cameras, inputs, PC/SC", step_discover)
    ok = await run.step("configure", "write the config", step_configure)
    ok = ok and await run.step("install", "account, directories, units, udev rules", step_install)
    if not ok:
        run.skip("identity", "an earlier step failed")
    else:
        ok = await run.step("identity", "keys and enrollment", step_identity)
    if not ok:
        run.skip("service", "an earlier step failed")
    elif settings.root is not None:
        run.skip("service", "staged under --root: the service starts when the system boots")
    elif not systemd:
        run.skip("service", "systemd does not run this system: start it with `midas-edge run`")
    else:
        ok = await run.step("service", "start it, or restart it on what changed", step_service)
    version = run.report.versions.get("midas-edge", "")
    tested_on = basis(run.applier, settings, version) if ok and not settings.dry_run else ""
    last = last_passed(data_dir) if tested_on else None
    if last is not None and last.basis == tested_on:  # kept for the next run, if it does not run
        run.report.self_test = {"via": None, "basis": tested_on, "passed_at": last.passed_at}
    else:
        last = None
    if settings.dry_run:
        run.skip("self-test", "dry run")
    elif settings.selftest == "never":
        run.skip("self-test", "--self-test never")
    elif not ok:
        run.skip("self-test", "an earlier step failed")
    elif last is not None and settings.selftest == "changed":
        run.skip("self-test", f"nothing changed since {last.passed_at}, when it passed")
    else:
        await run.step("self-test", f"through {via}", lambda: step_selftest(tested_on))
    if not settings.dry_run and data_dir.is_dir():
        _write_report(run, data_dir)
    console.say()
    console.say(run.report.summary().rstrip("\n"))
    if not settings.dry_run and data_dir.is_dir():
        console.say(f"report: {data_dir / REPORT_TEXT} and {REPORT_JSON}")
    return run.report
