"""The receiver's HTTP API (receiver/openapi.yaml): batches in; records and chain status out.

Run it with `auto_decompress=False` (as `serve()` does): the batch handler inflates gzip itself
so that the decompressed size is bounded too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import msgspec
from aiohttp import web

from edge.wire import MAX_BATCH_BYTES, Receipt, Receipts, Status
from receiver import StorageError
from receiver.access import check_batch_sender, client_certificates
from receiver.checks import SHA256, WORKSTATION, Refused, Trust, check
from receiver.enroll import add_routes as add_enroll_routes
from receiver.region import Region
from receiver.storage import MAX_PAGE, START, Checked, Storage, parse_cursor

log = logging.getLogger("receiver")

STORAGE_KEY = web.AppKey("storage", Storage)
TRUST_KEY = web.AppKey("trust", Trust)
# Seconds a workstation is told to wait when the database is down.
STORAGE_RETRY_AFTER_S = 5
DEFAULT_PAGE = 100
SHUTDOWN_TIMEOUT_S = 10.0
# Record ids a log line names at most (the count is always there).
MAX_LOGGED_IDS = 20

_json = msgspec.json.Encoder()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(
    value: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    body = _json.encode(value)
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    return _answer({"error": reason}, status, headers)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal is JSON `{"error": reason}`; a database failure is a 503 to retry."""
    try:
        return await handler(request)
    except Refused as exc:
        return _error(exc.status, exc.reason)
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "too_large")
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error(exc.status, exc.reason.lower().replace(" ", "_"))
        raise
    except StorageError as exc:
        log.error("storage failed during %s %s: %s", request.method, request.path, exc)
        return _error(503, "storage_unavailable", {"Retry-After": str(STORAGE_RETRY_AFTER_S)})


async def post_batch(request: web.Request) -> web.Response:
    data = await request.read()
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    batch = await asyncio.to_thread(check, data, encoding, request.app[TRUST_KEY])
    check_batch_sender(request, batch.workstation)
    storage = request.app[STORAGE_KEY]
    receipts = await storage.ingest(
        batch.workstation, batch.key_id, batch.records, time.time(), batch.newer
    )
    counts = {s: 0 for s in Status}
    for receipt in receipts:
        counts[receipt.status] += 1
        if receipt.status is Status.REJECTED:
            log.warning(
                "record %s (%s seq %d) rejected: %s",
                receipt.id,
                batch.workstation,
                receipt.seq,
                receipt.reason,
            )
    held = len(batch.records) - len(receipts)
    if held:
        _log_held_back(batch.workstation, batch.records, receipts)
    log.info(
        "batch from %s: %d stored, %d duplicate, %d rejected, %d held back",
        batch.workstation,
        counts[Status.STORED],
        counts[Status.DUPLICATE],
        counts[Status.REJECTED],
        held,
    )
    return _answer(Receipts(receipts))


def _log_held_back(workstation: str, records: Sequence[Checked], receipts: list[Receipt]) -> None:
    """Name the records left without a receipt because an image they reference is not here."""
    answered = {r.id for r in receipts}
    ids = [r.id for r in records if r.id not in answered]
    shown = ", ".join(ids[:MAX_LOGGED_IDS])
    more = f" and {len(ids) - MAX_LOGGED_IDS} more" if len(ids) > MAX_LOGGED_IDS else ""
    log.warning(
        "batch from %s: %d records held back, an image they reference is not stored: %s%s",
        workstation,
        len(ids),
        shown,
        more,
    )


def _digest(request: web.Request) -> str:
    sha256 = request.match_info["sha256"]
    if not SHA256.match(sha256):
        raise Refused(400, "bad_digest")
    return sha256


async def put_blob(request: web.Request) -> web.Response:
    sha256 = _digest(request)
    data = await request.read()
    actual = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
    if actual != sha256:
        raise Refused(400, "digest_mismatch")
    new = await request.app[STORAGE_KEY].put_blob(sha256, data, time.time())
    status = "stored" if new else "duplicate"
    return _answer({"sha256": sha256, "size": len(data), "status": status}, 201 if new else 200)


async def get_blob(request: web.Request) -> web.Response:
    data = await request.app[STORAGE_KEY].get_blob(_digest(request))
    if data is None:
        raise Refused(404, "not_found")
    return web.Response(body=data, content_type="application/octet-stream")


async def head_blob(request: web.Request) -> web.Response:
    found = await request.app[STORAGE_KEY].has_blob(_digest(request))
    return web.Response(status=200 if found else 404)


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """A query parameter of ASCII digits only (as openapi.yaml says: no sign, space, `_` or
    other digits, which `int()` would take), within [low, high]; 400 bad_<name> otherwise."""
    text = request.query.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        raise Refused(400, f"bad_{name}")
    value = int(text)
    if not low <= value <= high:
        raise Refused(400, f"bad_{name}")
    return value


async def get_records(request: web.Request) -> web.Response:
    workstation = request.query.get("workstation") or None
    if workstation is not None and not WORKSTATION.match(workstation):
        raise Refused(400, "bad_workstation")
    limit = _int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    storage = request.app[STORAGE_KEY]
    if workstation is not None:
        after = _int(request, "after", 0, 0, 2**63 - 1)
        return _answer(await storage.records(workstation, after, limit))
    token = request.query.get("after", "")
    cursor = parse_cursor(token) if token else START
    if cursor is None:
        raise Refused(400, "bad_after")
    return _answer(await storage.listing(cursor, limit))


async def get_record(request: web.Request) -> web.Response:
    found = await request.app[STORAGE_KEY].record(request.match_info["id"])
    if found is None:
        raise Refused(404, "not_found")
    return _answer(found)


async def get_workstations(request: web.Request) -> web.Response:
    return _answer(await request.app[STORAGE_KEY].workstations())


async def get_chain(request: web.Request) -> web.Response:
    workstation = request.match_info["workstation"]
    if not WORKSTATION.match(workstation):
        raise Refused(400, "bad_workstation")
    status = await request.app[STORAGE_KEY].chain(workstation)
    if status is None:
        raise Refused(404, "not_found")
    return _answer(status)


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _not_newer(since: str, version: int) -> bool:
    """Whether `version` is no newer than the `since` a workstation sent (its list in force)."""
    return since.isascii() and since.isdigit() and len(since) <= 18 and version <= int(since)


async def get_latest_alert_list(request: web.Request) -> web.Response:
    """The newest published alert list, byte for byte as headquarters signed it (ETag: its
    SHA-256); 304 when the workstation already holds it, or one as new (`since`: its version)."""
    storage = request.app[STORAGE_KEY]
    latest = await storage.latest_alert_list()
    if latest is None:
        raise Refused(404, "not_found")
    etag = f'"{latest.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "X-Alert-List-Version": str(latest.version),
    }
    if _etag_matches(request.headers.get("If-None-Match", ""), etag) or _not_newer(
        request.query.get("since", ""), latest.version
    ):
        return web.Response(status=304, headers=headers)
    body = await storage.alert_list_body(latest.version)
    if body is None:  # pruned by a newer publication in between: the client asks again
        raise Refused(404, "not_found")
    return web.Response(body=body, content_type="application/octet-stream", headers=headers)


async def get_health(request: web.Request) -> web.Response:
    await request.app[STORAGE_KEY].ping()
    return _answer({"status": "ok"})


def create_app(storage: Storage, trust: Trust, region: Region | None = None) -> web.Application:
    """The receiver's routes over an opened `storage`; with `region`, enrollment and mTLS."""
    app = web.Application(
        middlewares=[errors, client_certificates], client_max_size=MAX_BATCH_BYTES
    )
    app[STORAGE_KEY] = storage
    app[TRUST_KEY] = trust
    app.router.add_post("/v1/batches", post_batch)
    app.router.add_put("/v1/blobs/{sha256}", put_blob)
    app.router.add_get("/v1/blobs/{sha256}", get_blob, allow_head=False)
    app.router.add_route("HEAD", "/v1/blobs/{sha256}", head_blob)
    app.router.add_get("/v1/records", get_records, allow_head=False)
    app.router.add_get("/v1/records/{id}", get_record, allow_head=False)
    app.router.add_get("/v1/workstations", get_workstations, allow_head=False)
    app.router.add_get("/v1/workstations/{workstation}/chain", get_chain, allow_head=False)
    app.router.add_get("/v1/alert-lists/latest", get_latest_alert_list, allow_head=False)
    app.router.add_get("/v1/health", get_health, allow_head=False)
    add_enroll_routes(app, region)
    return app


@dataclass(frozen=True, slots=True)
class Listening:
    """Where a running receiver listens."""

    host: str
    port: int
    tls: bool

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"


@contextlib.asynccontextmanager
async def serve(
    storage: Storage,
    trust: Trust,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    region: Region | None = None,
) -> AsyncIterator[Listening]:
    """The receiver listening on host:port (0: a free port) over an opened storage."""
    runner = web.AppRunner(
        create_app(storage, trust, region),
        auto_decompress=False,
        access_log=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
        bound = int(runner.addresses[0][1])
        yield Listening(host, bound, ssl_context is not None)
    finally:
        await runner.cleanup()
