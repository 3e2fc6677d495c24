"""`midas-edge provision`: discover, configure, install, identity, self-test, report.

The steps run in that order: the install step creates the service account that owns the keys
the identity step writes (the config's owner is set as soon as the account exists). Each step
prints its progress, every change (or, with --dry-run, every change it would make) and a
verdict: ok (nothing to do), changed, skipped or failed. A failed step stops the steps that
need it. Running it again on a provisioned workstation changes nothing and says so.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from drivers.registry import Registry, default_registry
from edge.config import Config
from provisioning.catalog import Catalog
from provisioning.changes import Applier, Verdict
from provisioning.configure import configure
from provisioning.discover import Discovery, discover
from provisioning.errors import ProvisioningError
from provisioning.identity import establish
from provisioning.install import install
from provisioning.report import Report, StepResult
from provisioning.safefile import write_file
from provisioning.selftest import run_selftest
from provisioning.settings import Settings, ask_missing, check
from provisioning.system import (
    REPORT_JSON,
    REPORT_TEXT,
    SERVICE_GROUP,
    SERVICE_USER,
    UNIT_NAME,
)
from provisioning.ui import Console

STEPS = 5
REPORT_MODE = 0o640


@dataclass
class Machine:
    """What the workstation offers; tests give a simulated USB bus where a machine has libusb."""

    registry: Registry = default_registry
    catalog: Catalog | None = None
    usb_backend: object | None = None


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
        except ProvisioningError as exc:
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


def _choose(found: Discovery, console: Console, settings: Settings) -> None:
    for item in found.confirmed:
        if item.url in settings.exclude:
            continue
        if not console.confirm(f"use {item.url} ({item.family}) on this workstation?"):
            settings.exclude.append(item.url)


def _service_active() -> bool:
    tool = shutil.which("systemctl")
    if tool is None or not Path("/run/systemd/system").is_dir():
        return False
    result = subprocess.run(  # noqa: S603  # systemctl by its full path, no shell
        [tool, "is-active", "--quiet", UNIT_NAME], check=False, timeout=30
    )
    return result.returncode == 0


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

    async def step_discover() -> str:
        nonlocal found
        found = await discover(catalog, machine.registry, settings.root, machine.usb_backend)
        run.applier.notes += found.notes
        for item in found.found:
            how = f" ({item.family}, {item.how})" if item.family else ""
            console.detail(f"{item.describe()}: {item.status}{how}")
        _choose(found, console, settings)
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

    async def step_selftest() -> str:
        assert config is not None
        results = await run_selftest(config, console, machine.registry, settings.root)
        run.report.checks = results
        run.applier.chown_tree(PurePosixPath(settings.data_dir), (SERVICE_USER, SERVICE_GROUP))
        failed = [r.name for r in results if r.ok is False]
        if failed:
            raise ProvisioningError("failed: " + ", ".join(failed))
        passed = len([r for r in results if r.ok])
        return f"{passed} checks passed, {len(results) - passed} skipped"

    await run.step("discover", "USB serial, USB, cameras, inputs, PC/SC", step_discover)
    ok = await run.step("configure", "write the config", step_configure)
    ok = ok and await run.step("install", "account, directories, units, udev rules", step_install)
    if not ok:
        run.skip("identity", "an earlier step failed")
    else:
        ok = await run.step("identity", "keys and enrollment", step_identity)
    if settings.dry_run:
        run.skip("self-test", "dry run")
    elif settings.selftest == "never":
        run.skip("self-test", "--self-test never")
    elif not ok:
        run.skip("self-test", "an earlier step failed")
    elif settings.root is None and _service_active():
        run.skip("self-test", f"{UNIT_NAME} is running: `midas-edge doctor` checks it")
    else:
        await run.step("self-test", "start the daemon and check it", step_selftest)
    data_dir = run.applier.path(PurePosixPath(settings.data_dir))
    if not settings.dry_run and data_dir.is_dir():
        _write_report(run, data_dir)
    console.say()
    console.say(run.report.summary().rstrip("\n"))
    if not settings.dry_run and data_dir.is_dir():
        console.say(f"report: {data_dir / REPORT_TEXT} and {REPORT_JSON}")
    return run.report
