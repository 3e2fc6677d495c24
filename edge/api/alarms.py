"""`POST /v1/alarms/{code}/ack`: an officer acknowledges an alarm that waits for one.

Only alarms raised with `ack_required` (a late alert hit, records lost on a share) are
acknowledged this way; a condition such as a full disk or an unplugged device clears by itself
once fixed (409).
"""

from __future__ import annotations

import logging

import msgspec
from aiohttp import web

from edge.alarms import Acknowledged
from edge.api.context import CONTEXT

log = logging.getLogger("midas_edge.api")

MAX_CODE_CHARS = 128
_json = msgspec.json.Encoder()
_STATUS = {
    Acknowledged.DONE: 200,
    Acknowledged.NOT_ACTIVE: 404,
    Acknowledged.CLEARS_BY_ITSELF: 409,
}


async def acknowledge(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if len(code) > MAX_CODE_CHARS:
        outcome = Acknowledged.NOT_ACTIVE
    else:
        outcome = request.app[CONTEXT].alarms.acknowledge(code)
    return web.Response(
        body=_json.encode({"code": code, "outcome": outcome}),
        status=_STATUS[outcome],
        content_type="application/json",
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/alarms/{code}/ack", acknowledge)
