"""aiohttp application of the local API and its lifecycle."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from edge import __version__
from edge.api import alarms, blobs, console, portrait, sse
from edge.api.console_auth import bearer_matches, check_session
from edge.api.context import CONTEXT, ApiContext
from edge.config import split_listen
from edge.errors import StoreError

log = logging.getLogger("midas_edge.api")

MAX_PAGE = 1000
DEFAULT_PAGE = 100
SHUTDOWN_TIMEOUT_S = 2.0
_json = msgspec.json.Encoder()
_OPEN_PATHS = frozenset({"/v1/health", "/metrics"})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_response(body: object, status: int = 200) -> web.Response:
    return web.Response(body=_json.encode(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json_response({"error": message}, status)


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in _OPEN_PATHS or console.is_public(request.path):
        return await handler(request)
    ctx = request.app[CONTEXT]
    if bearer_matches(request, ctx.token):
        return await handler(request)
    if "Authorization" not in request.headers:
        # The officer console's session cookie (reads; writes only from its own origin).
        refusal = check_session(request, ctx.console)
        if refusal is None:
            return await handler(request)
        if refusal.code in ("cross_origin", "cross_site"):
            log.warning(
                "console request refused", extra={"reason": refusal.code, "path": request.path}
            )
            return _error(403, refusal.message)
    return web.Response(
        status=401,
        body=_json.encode({"error": "a valid bearer token is required"}),
        content_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="midas-edge"'},
    )


async def health(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    alarms = ctx.alarms.active()
    usage = ctx.store.usage()
    devices = ctx.devices()
    return _json_response(
        {
            "status": "degraded" if alarms else "ok",
            "workstation": ctx.workstation,
            "version": __version__,
            "store": {
                "last_seq": ctx.store.writer.last_seq,
                "refusing": ctx.store.full_reason,
                "quarantined": ctx.store.quarantined.name if ctx.store.quarantined else None,
                "bytes": usage.total,
                "free_bytes": usage.free,
                "quota_bytes": ctx.store.quota,
            },
            "devices": {str(d["name"]): d["state"] for d in devices},
            "sinks": ctx.sinks(),
            "alarms": alarms,
        }
    )


async def devices(request: web.Request) -> web.Response:
    return _json_response({"devices": request.app[CONTEXT].devices()})


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: expected an integer") from None
    if not low <= value <= high:
        raise ValueError(f"{name}: expected {low}..{high}")
    return value


async def list_records(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        after = _int_param(request, "after", 0, 0, 2**62)
        limit = _int_param(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    except ValueError as exc:
        return _error(400, str(exc))
    try:
        rows = await ctx.store.bodies_after(after, limit)
    except StoreError:
        log.exception("records read failed")
        return _error(503, "the record store cannot be read")
    next_after = rows[-1][0] if rows else after
    body = b'{"records":[' + b",".join(b for _, b in rows) + b'],"next_after":'
    body += str(next_after).encode() + b"}"
    return web.Response(body=body, content_type="application/json")


async def get_record(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        body = await ctx.store.get_body(request.match_info["id"])
    except StoreError:
        log.exception("record read failed")
        return _error(503, "the record store cannot be read")
    if body is None:
        return _error(404, "no record with that id")
    return web.Response(body=body, content_type="application/json")


async def alerts_status(request: web.Request) -> web.Response:
    status = request.app[CONTEXT].alerts
    if status is None:
        return _error(404, "alert lists are not configured")
    return _json_response(status())


async def metrics(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    usage = ctx.store.usage()
    for part, value in (("database", usage.database), ("wal", usage.wal), ("blobs", usage.blobs)):
        ctx.metrics.store_bytes.labels(part=part).set(value)
    ctx.metrics.sse_clients.set(ctx.hub.subscriber_count())
    return web.Response(body=ctx.metrics.render(), content_type="text/plain", charset="utf-8")


def build_app(ctx: ApiContext) -> web.Application:
    app = web.Application(middlewares=[_auth])
    app[CONTEXT] = ctx
    app.router.add_get("/v1/health", health)
    app.router.add_get("/v1/devices", devices)
    app.router.add_get("/v1/records", list_records)
    app.router.add_get("/v1/records/{id}", get_record)
    app.router.add_get("/v1/events", sse.events)
    app.router.add_get("/v1/alerts/status", alerts_status)
    portrait.add_routes(app)
    blobs.add_routes(app)
    alarms.add_routes(app)
    console.add_routes(app)
    app.router.add_get("/metrics", metrics)
    return app


class ApiServer:
    """Runs the API on the configured loopback address; `url` is known after `start()`."""

    def __init__(self, ctx: ApiContext, listen: str) -> None:
        self._ctx = ctx
        self._host, self._port = split_listen(listen)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        runner = web.AppRunner(
            build_app(self._ctx),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
