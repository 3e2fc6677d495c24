"""The checks of `midas-edge doctor`, each read-only, each problem with the command that fixes it.

`Where` maps the config's system paths to this machine (under `--root`, into the staging
directory), so a staged image is checked exactly as a workstation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import os
import shutil
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509

from agent import outbox
from agent.chain import KEY_FILE
from agent.http_sink import tls_context
from agent.sink import SinkConfigError
from edge.api.token import TOKEN_FILE
from edge.config import Config, SinkConfig
from edge.devices_cli import live_devices
from edge.store.store import DB_NAME
from provisioning.changes import Accounts
from provisioning.selftest import CheckResult
from provisioning.system import CONFIG_PATH, SERVICE_GROUP, SERVICE_USER

RENEW_DAYS = 30
MAX_CLOCK_SKEW_S = 120.0
PLAUSIBLE_YEARS = (2024, 2100)
SINK_TIMEOUT_S = 5.0
USAGE_LIMIT = 0.95  # of the quota
SERVICE = (SERVICE_USER, SERVICE_GROUP)
READABLE = ("root", SERVICE_GROUP)


@dataclass(frozen=True, slots=True)
class Where:
    """Paths of the checked system: the root itself, or a staging directory."""

    root: Path | None
    config: str = str(CONFIG_PATH)  # the checked config, as the checked system names it

    def __call__(self, target: str | PurePosixPath) -> Path:
        text = str(target)
        if self.root is None or not text.startswith("/"):
            return Path(text)
        return self.root / text.lstrip("/")

    @property
    def provision(self) -> str:
        return "midas-edge provision" + (f" --root {self.root}" if self.root else "")

    def command(self, text: str) -> str:
        """A midas-edge command run in the checked system (chroot into a staged one)."""
        return f"chroot {self.root} {text}" if self.root else text


AS_ROOT = "run the doctor as root: sudo midas-edge doctor"


def present(path: Path) -> bool:
    """Whether `path` exists; True when it cannot be told (the check that follows says why)."""
    try:
        path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return True


def check_mode(
    where: Where, accounts: Accounts, target: str, mode: int, owner: tuple[str, str]
) -> CheckResult:
    """One file or directory: exists, has `mode` exactly and belongs to `owner`."""
    path = where(target)
    name = f"permissions {target}"
    try:
        st = path.stat()
    except FileNotFoundError:
        return CheckResult(name, False, "missing", where.provision)
    except OSError as exc:  # a directory above it the doctor's user may not enter
        return CheckResult(name, False, f"cannot be checked ({exc.strerror})", AS_ROOT)
    ids = accounts.ids(owner)
    problems = []
    if stat.S_IMODE(st.st_mode) != mode:
        problems.append(f"mode {oct(stat.S_IMODE(st.st_mode))}, expected {oct(mode)}")
    if ids is None:
        problems.append(f"no account {owner[0]}:{owner[1]}")
    elif (st.st_uid, st.st_gid) != ids:
        problems.append(f"owner {st.st_uid}:{st.st_gid}, expected {owner[0]}:{owner[1]}")
    if not problems:
        return CheckResult(name, True, f"{oct(mode)} {owner[0]}:{owner[1]}")
    fix = f"chmod {mode:o} {path} && chown {owner[0]}:{owner[1]} {path}"
    if ids is None:
        fix = where.provision
    return CheckResult(name, False, "; ".join(problems), fix)


def permissions(config: Config, config_path: str, where: Where) -> list[CheckResult]:
    accounts = Accounts(where.root)
    data = PurePosixPath(config.workstation.data_dir)
    wanted: list[tuple[str, int, tuple[str, str]]] = [
        (str(PurePosixPath(config_path).parent), 0o750, READABLE),
        (config_path, 0o640, READABLE),
        (str(data), 0o700, SERVICE),
        (str(data / KEY_FILE), 0o600, SERVICE),
    ]
    if present(where(data / TOKEN_FILE)):
        wanted.append((str(data / TOKEN_FILE), 0o600, SERVICE))
    for sink in config.sinks:
        if sink.key is not None:
            wanted.append((sink.key, 0o600, SERVICE))
        for value in (sink.cert, sink.ca):
            if value is not None:
                wanted.append((value, 0o640, READABLE))
    seen: set[str] = set()
    out = []
    for target, mode, owner in wanted:
        if target not in seen:
            seen.add(target)
            out.append(check_mode(where, accounts, target, mode, owner))
    return out


def devices_present(config: Config, where: Where) -> list[CheckResult]:
    out = []
    for device in config.devices:
        if not device.enabled or not device.url.startswith("/"):
            continue
        path = where(device.url)
        if "%" in path.name:  # an image sequence: its directory is the device
            path = path.parent
        ok = os.path.exists(path)  # a dangling stable link is a missing device
        fix = (
            ""
            if ok
            else (
                f"plug {device.name} in and check its cable; then `udevadm trigger`; a device on "
                f"another port or of another make: {where.provision}"
            )
        )
        out.append(CheckResult(f"device {device.name} present", ok, device.url, fix))
    return out


def devices_ready(config: Config, where: Where) -> list[CheckResult]:
    live = live_devices(config) if where.root is None else None
    if live is None:
        return [CheckResult("devices ready", None, "the daemon's API does not answer")]
    out = []
    for device in config.devices:
        if device.enabled:
            state = str(live.get(device.name, {}).get("state", "unknown"))
            fix = "" if state == "ready" else "journalctl -u midas-edge -n 50; midas-edge devices"
            out.append(CheckResult(f"device {device.name} ready", state == "ready", state, fix))
    return out


def clock(now: float) -> CheckResult:
    year = dt.datetime.fromtimestamp(now, dt.UTC).year
    ok = PLAUSIBLE_YEARS[0] <= year < PLAUSIBLE_YEARS[1]
    fix = "" if ok else "timedatectl set-ntp true  # or: timedatectl set-time 'YYYY-MM-DD hh:mm'"
    return CheckResult("clock plausible", ok, f"year {year}", fix)


def _store_bytes(data_dir: Path) -> int:
    """Bytes of the database and blobs; a file retention removes meanwhile counts nothing."""
    total = 0
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        with contextlib.suppress(FileNotFoundError):
            total += (data_dir / name).stat().st_size

    def unreadable(exc: OSError) -> None:
        if not isinstance(exc, FileNotFoundError):
            raise exc

    for folder, _, files in os.walk(data_dir / "blobs", onerror=unreadable):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(folder, name)).st_size
    return total


def disk(config: Config, where: Where) -> list[CheckResult]:
    data_dir = where(config.workstation.data_dir)
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError as exc:
        return [
            CheckResult("disk headroom", False, f"unreadable ({exc.strerror})", where.provision)
        ]
    need = config.storage.min_free_bytes
    ok = free >= need
    out = [
        CheckResult(
            "disk headroom",
            ok,
            f"{free // 2**20} MiB free, {need // 2**20} MiB kept free",
            "" if ok else f"free space on the file system of {data_dir} (du -sh {data_dir}/*)",
        )
    ]
    quota = config.storage.quota_bytes
    try:
        used = _store_bytes(data_dir)
    except OSError as exc:
        out.append(CheckResult("store quota", False, f"unreadable ({exc.strerror})", AS_ROOT))
        return out
    ok = used <= quota * USAGE_LIMIT
    fix = "" if ok else outbox_command(where, "status") + "  # a backlog fills the quota"
    out.append(CheckResult("store quota", ok, f"{used // 2**20} of {quota // 2**20} MiB", fix))
    return out


def outbox_command(where: Where, action: str, sink: str | None = None) -> str:
    """The `midas-edge outbox` command for the checked config (its --config always named)."""
    picked = f" --sink {sink}" if sink else ""
    return where.command(f"midas-edge outbox --config {where.config}{picked} {action}")


def backlog(config: Config, where: Where, now: float, max_age_s: float) -> list[CheckResult]:
    data_dir = where(config.workstation.data_dir)
    if not present(data_dir / DB_NAME):
        return [CheckResult("backlog", None, "no record store yet")]
    try:
        conn = outbox.connect(data_dir)
    except outbox.OutboxError as exc:
        return [CheckResult("backlog", False, str(exc), "systemctl restart midas-edge")]
    except OSError as exc:
        return [CheckResult("backlog", False, f"unreadable ({exc.strerror})", AS_ROOT)]
    try:
        rows = outbox.status(conn, now)
    except sqlite3.Error as exc:
        fix = outbox_command(where, "status")
        return [CheckResult("backlog", False, f"unreadable ({exc})", fix)]
    finally:
        conn.close()
    out = []
    for row in rows:
        age, dead = row.get("oldest_undelivered_age_s"), int(row.get("dead", 0))
        problems = []
        if age is not None and age > max_age_s:
            problems.append(f"oldest undelivered {age / 3600:.1f} h old")
        if dead:
            problems.append(f"{dead} dead letters")
        detail = "; ".join(problems) or f"{row.get('backlog', 0)} waiting"
        fix = outbox_command(where, "dead" if dead else "status", str(row["sink"]))
        out.append(
            CheckResult(f"backlog {row['sink']}", not problems, detail, fix if problems else "")
        )
    return out


def certificate(sink: SinkConfig, where: Where, workstation: str, now: float) -> CheckResult:
    name = f"certificate {sink.name}"
    renew = (
        f"on the regional server: midas-edge receiver enroll-token --workstation {workstation}; "
        f"then: {where.provision} --enroll-token TOKEN --ca-fingerprint FINGERPRINT"
    )
    try:
        cert = x509.load_pem_x509_certificate(where(sink.cert or "").read_bytes())
    except (OSError, ValueError) as exc:
        return CheckResult(name, False, f"unreadable ({exc})", renew)
    left = cert.not_valid_after_utc - dt.datetime.fromtimestamp(now, dt.UTC)
    ok = left >= dt.timedelta(days=RENEW_DAYS)
    when = f"{cert.not_valid_after_utc:%Y-%m-%d}"
    detail = (
        f"valid until {when}"
        if ok
        else (
            f"expired {when}" if left.total_seconds() < 0 else f"expires {when} ({left.days} days)"
        )
    )
    return CheckResult(name, ok, detail, "" if ok else renew)


def _staged_sink(sink: SinkConfig, where: Where) -> SinkConfig:
    import msgspec  # noqa: PLC0415  # only for the copy

    paths = {k: str(where(v)) for k in ("ca", "cert", "key") if (v := getattr(sink, k))}
    return msgspec.structs.replace(sink, **paths)


async def http_sink(sink: SinkConfig, where: Where, now: float) -> list[CheckResult]:
    """Reachability (TLS with the sink's own settings) and the clock against the Date header."""
    name = f"sink {sink.name} reachable"
    parts = urlsplit(sink.target)
    hostport = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    try:
        context = tls_context(_staged_sink(sink, where))
    except SinkConfigError as exc:
        return [CheckResult(name, False, str(exc), where.provision)]
    url = sink.target.rstrip("/") + "/v1/health"
    timeout = aiohttp.ClientTimeout(total=min(sink.timeout, SINK_TIMEOUT_S))
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url, ssl=context if context is not None else True) as response,
        ):
            status, date = response.status, response.headers.get("Date")
    except aiohttp.ClientSSLError as exc:
        return [CheckResult(name, False, f"TLS refused ({exc})", where.provision)]
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        fix = f"check the network path to {hostport} (cable, firewall, DNS, the server)"
        return [CheckResult(name, False, f"{hostport} unreachable ({type(exc).__name__})", fix)]
    ok = status == 200
    out = [CheckResult(name, ok, f"{hostport} answers {status}", "" if ok else where.provision)]
    when = server_time(date)
    if when is None:
        why = "no Date header" if date is None else "its Date header is not a date"
        out.append(CheckResult(f"clock vs {sink.name}", None, f"not compared: {why}"))
        return out
    skew = now - when
    good = abs(skew) <= MAX_CLOCK_SKEW_S
    fix = "" if good else "timedatectl set-ntp true; systemctl restart systemd-timesyncd"
    out.append(CheckResult(f"clock vs {sink.name}", good, f"{skew:+.0f} s", fix))
    return out


def server_time(date: str | None) -> float | None:
    """The time an HTTP Date header gives (UTC when it names no zone), None if it gives none."""
    if not date:
        return None
    try:
        when = email.utils.parsedate_to_datetime(date)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def nas_sink(sink: SinkConfig, where: Where) -> CheckResult:
    root = where(sink.target)
    name = f"sink {sink.name} mounted"
    if not os.path.ismount(root):
        return CheckResult(name, False, f"{sink.target} is not a mount point", f"mount {root}")
    if not present(root / sink.sentinel):
        fix = f"touch {root / sink.sentinel}  # by the share's administrator, at its root"
        return CheckResult(name, False, f"no {sink.sentinel} at the share's root", fix)
    return CheckResult(name, True, f"{sink.target} mounted")


def sinks(config: Config, where: Where, now: float) -> list[CheckResult]:
    out = []
    for sink in config.sinks:
        if sink.kind == "nas":
            out.append(nas_sink(sink, where))
        if sink.cert is not None:
            out.append(certificate(sink, where, config.workstation.id, now))
    return out


def now_s() -> float:
    return time.time()
