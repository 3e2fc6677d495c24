"""Local API for portrait captures: start one (`POST /v1/portrait`), see the latest (`GET`)."""

from __future__ import annotations

import logging

import msgspec
from aiohttp import web

from edge.api.context import CONTEXT
from edge.errors import StoreError
from edge.portrait.errors import PortraitError
from edge.records import Kind

log = logging.getLogger("midas_edge.api")

_json = msgspec.json.Encoder()
MAX_BODY = 4096


class StartRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Optional body of `POST /v1/portrait`: the document record the portrait belongs to."""

    record: str | None = None


def _reply(body: object, status: int = 200) -> web.Response:
    return web.Response(body=_json.encode(body), status=status, content_type="application/json")


async def start(request: web.Request) -> web.Response:
    portraits = request.app[CONTEXT].portraits
    if portraits is None:
        return _reply({"error": "portrait capture is not configured"}, 404)
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return _reply({"error": "the request body is too large"}, 413)
    try:
        wanted = msgspec.json.decode(raw, type=StartRequest) if raw.strip() else StartRequest()
    except msgspec.DecodeError as exc:
        return _reply({"error": f"bad request body: {exc}"}, 400)
    if wanted.record is not None:
        # The link goes into a signed record: it must name a stored travel document.
        try:
            rows = await request.app[CONTEXT].store.query(
                "SELECT kind FROM records WHERE id = ? AND purged_at IS NULL", (wanted.record,)
            )
        except StoreError:
            log.exception("record read failed")
            return _reply({"error": "the record store cannot be read"}, 503)
        if not rows or rows[0][0] != Kind.DOCUMENT.value:
            return _reply({"error": "record: no travel-document record with that id"}, 422)
    try:
        session = await portraits.start(wanted.record, "request")
    except PortraitError as exc:
        return _reply({"error": str(exc)}, 409)
    return _reply(session.view(), 202)


async def status(request: web.Request) -> web.Response:
    portraits = request.app[CONTEXT].portraits
    if portraits is None:
        return _reply({"error": "portrait capture is not configured"}, 404)
    current = portraits.current
    return _reply(
        {
            "camera_connected": portraits.available(),
            "capture": current.view() if current is not None else None,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/portrait", start)
    app.router.add_get("/v1/portrait", status)
