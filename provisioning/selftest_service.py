"""The self-test of the running service, through its local API (on a system run by systemd).

The service runs under its own account and holds the store and the devices: provisioning
only asks it, and never starts a daemon of its own beside it.

1. the service answers `GET /v1/health` (it may still be starting);
2. every enabled device is READY in `GET /v1/devices`;
3. interactively, a document and a barcode the technician presents become records
   (`GET /v1/records` after the last sequence number the service held);
4. each sink is reachable with the service's own settings (the doctor's checks: TLS with its
   CA and client certificate, the share mounted with its sentinel), and the service forwards
   to it: the sink's state in health is `ok` with nothing waiting (health's view, which the
   service refreshes about once a second).

The local API takes no captures, so no test record is added here: what the technician
presented is what reaches the sinks. Cameras are held by the service: their picture is
looked at on the officer console (`midas-edge console`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from edge.api.token import TOKEN_FILE
from edge.config import Config, split_listen
from provisioning import doctor_checks
from provisioning.safefile import LinkRefused, read_file
from provisioning.selftest import (
    CAPTURE_WAIT_S,
    POLL_S,
    SELFTEST_DEVICE,
    SINK_TIMEOUT_S,
    START_TIMEOUT_S,
    CheckResult,
    api_get,
    check_ready,
)
from provisioning.system import UNIT_NAME
from provisioning.ui import Console

JOURNAL = f"journalctl -u {UNIT_NAME} -n 50"
_API_ERRORS = (aiohttp.ClientError, TimeoutError, ValueError, KeyError, AttributeError, TypeError)


def api_url(config: Config) -> str:
    """The service's local API as a client on this machine reaches it."""
    host, port = split_listen(config.api.listen)
    if host in ("0.0.0.0", "::", ""):  # noqa: S104  # listening everywhere: ask on loopback
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _health(url: str, token: str) -> dict[str, Any] | None:
    with contextlib.suppress(*_API_ERRORS):
        body = await api_get(url, token, "/v1/health")
        if isinstance(body, dict):
            return body
    return None


async def _answers(
    url: str, token: str, timeout_s: float
) -> tuple[CheckResult, dict[str, Any] | None]:
    deadline = time.monotonic() + timeout_s
    while True:
        health = await _health(url, token)
        if health is not None or time.monotonic() > deadline:
            break
        await asyncio.sleep(POLL_S)
    if health is None:
        return CheckResult("service answers", False, f"no answer at {url}", JOURNAL), None
    return CheckResult("service answers", True, f"{url}, {health.get('status')}"), health


async def _new_kind(url: str, token: str, after: int, kind: str) -> bool:
    body = await api_get(url, token, f"/v1/records?after={after}&limit=1000")
    return any(
        r.get("kind") == kind and r.get("device", {}).get("name") != SELFTEST_DEVICE
        for r in body.get("records", [])
    )


async def _presented(
    console: Console, url: str, token: str, after: int, kind: str, what: str
) -> CheckResult:
    name = f"{kind} presented"
    if not await asyncio.to_thread(console.wait_enter, f"present {what}"):
        return CheckResult(name, None, "skipped by the technician")
    deadline = time.monotonic() + CAPTURE_WAIT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(*_API_ERRORS):
            if await _new_kind(url, token, after, kind):
                return CheckResult(name, True, "read by the service")
        await asyncio.sleep(POLL_S)
    return CheckResult(name, False, "nothing read", "check the cable; " + JOURNAL)


async def _forwarding(
    url: str, token: str, names: list[str], timeout_s: float
) -> list[CheckResult]:
    deadline = time.monotonic() + timeout_s
    sinks: dict[str, Any] = {}
    while True:
        health = await _health(url, token)
        sinks = health.get("sinks", {}) if health else sinks
        done = all(
            sinks.get(n, {}).get("state") == "ok" and not sinks.get(n, {}).get("backlog")
            for n in names
        )
        if done or time.monotonic() > deadline:
            break
        await asyncio.sleep(POLL_S)
    out = []
    for name in names:
        sink = sinks.get(name, {})
        state, waiting = sink.get("state", "unknown"), sink.get("backlog", "?")
        ok = state == "ok" and not waiting
        detail = f"state {state}, {waiting} waiting" + (
            f" ({sink['error']})" if sink.get("error") and not ok else ""
        )
        fix = "" if ok else f"midas-edge doctor; {JOURNAL}"
        out.append(CheckResult(f"service forwards to {name}", ok, detail, fix))
    return out


async def _reachable(config: Config) -> list[CheckResult]:
    where, now = doctor_checks.Where(None), time.time()
    out = []
    for sink in config.sinks:
        if sink.kind == "http":
            out += (await doctor_checks.http_sink(sink, where, now))[:1]
        elif sink.kind == "nas":
            out.append(doctor_checks.nas_sink(sink, where))
    return out


async def run_service_selftest(
    config: Config,
    console: Console,
    *,
    start_timeout_s: float = START_TIMEOUT_S,
    sink_timeout_s: float = SINK_TIMEOUT_S,
) -> list[CheckResult]:
    """Check the running service through its local API (module docstring); the results.

    The service gets `start_timeout_s` to answer (it may still be starting) and
    `sink_timeout_s` to have forwarded what waits, as its health reports it.
    """
    url = api_url(config)
    try:
        token = (read_file(config.data_dir / TOKEN_FILE) or b"").decode().strip()
    except (OSError, UnicodeDecodeError, LinkRefused) as exc:
        return [CheckResult("service answers", False, f"no API token ({exc})", JOURNAL)]
    first, health = await _answers(url, token, start_timeout_s)
    if health is None:
        return [first]
    results = [first]
    names = [d.name for d in config.devices if d.enabled]
    results += await check_ready(url, token, names)
    last = int(health.get("store", {}).get("last_seq") or 0)
    if console.interactive and names:
        results.append(await _presented(console, url, token, last, "document", "a passport"))
        results.append(await _presented(console, url, token, last, "barcode", "a barcode"))
    elif names:
        results.append(CheckResult("documents and barcodes presented", None, "non-interactive"))
    cameras = [d.name for d in config.devices if d.enabled and d.driver == "camera"]
    for camera in cameras:
        results.append(
            CheckResult(
                f"camera {camera} picture", None, "held by the service: see `midas-edge console`"
            )
        )
    if not config.sinks:
        return [*results, CheckResult("test record delivered", None, "no sinks configured")]
    results += await _reachable(config)
    results += await _forwarding(url, token, [s.name for s in config.sinks], sink_timeout_s)
    return results
