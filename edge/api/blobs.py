"""`GET /v1/records/{id}/blobs/{sha256}`: an image of a record (a stored portrait), never cached.

Only a blob that the record itself references is served, so a caller cannot read arbitrary
files or another record's images through a guessed digest. A blob removed by retention (the
record was delivered and its personal data purged) is 410 Gone.
"""

from __future__ import annotations

import asyncio
import logging
import re

import msgspec
from aiohttp import web

from edge.api.context import CONTEXT
from edge.errors import StoreError
from edge.records import BlobRef

log = logging.getLogger("midas_edge.api")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_json = msgspec.json.Encoder()


class _Blobs(msgspec.Struct):
    """The only part of a stored record this endpoint reads."""

    blobs: list[BlobRef] = msgspec.field(default_factory=list)


_decode = msgspec.json.Decoder(_Blobs)


def _error(status: int, message: str) -> web.Response:
    return web.Response(
        body=_json.encode({"error": message}),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def get_blob(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    record_id, sha256 = request.match_info["id"], request.match_info["sha256"]
    if not _SHA256.fullmatch(sha256):
        return _error(400, "sha256: expected 64 lower-case hex digits")
    try:
        body = await ctx.store.get_body(record_id)
    except StoreError:
        log.exception("record read failed")
        return _error(503, "the record store cannot be read")
    if body is None:
        return _error(404, "no record with that id")
    try:
        refs = _decode.decode(body).blobs
    except msgspec.DecodeError:
        log.error("stored record unreadable", extra={"record_id": record_id})
        return _error(500, "the stored record cannot be read")
    ref = next((b for b in refs if b.sha256 == sha256), None)
    if ref is None:
        return _error(404, "the record has no such image")
    path = ctx.store.read_blob_path(sha256)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        return _error(410, "the image was removed after delivery")
    except OSError as exc:
        log.error(
            "blob read failed",
            extra={"record_id": record_id, "blob": sha256, "detail": exc.strerror},
        )
        return _error(503, "the image cannot be read")
    return web.Response(
        body=data,
        content_type=ref.media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/records/{id}/blobs/{sha256}", get_blob)
