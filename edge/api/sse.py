"""`GET /v1/events`: Server-Sent Events of records, device changes and alarms.

A client that sends `Last-Event-ID` (the last record sequence it saw) gets every record after
it replayed from the store first; a client too slow for the live stream is caught up the
same way, so no committed record is ever missing from a stream.
"""

from __future__ import annotations

import asyncio

import msgspec
from aiohttp import web

from edge.api.context import CONTEXT, ApiContext
from edge.events import Event

KEEPALIVE_S = 15.0
REPLAY_PAGE = 500
_json = msgspec.json.Encoder()


def _frame(event: str, data: bytes, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + data + b"\n\n"


async def _snapshot(resp: web.StreamResponse, ctx: ApiContext) -> None:
    for device in ctx.devices():
        await resp.write(_frame("device", _json.encode(device)))
    for alarm in ctx.alarms.active():
        await resp.write(_frame("alarm", _json.encode(alarm)))


async def _replay(resp: web.StreamResponse, ctx: ApiContext, after: int) -> int:
    while True:
        rows = await ctx.store.bodies_after(after, REPLAY_PAGE)
        for seq, body in rows:
            await resp.write(_frame("record", body, seq))
            after = seq
        if len(rows) < REPLAY_PAGE:
            return after


async def events(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    header = request.headers.get("Last-Event-ID", "").strip()
    resume = int(header) if header.isdigit() else None
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await resp.prepare(request)
    try:
        with ctx.hub.subscribe() as sub:
            # Subscribe first, then read the position: nothing can commit in between.
            last_sent = ctx.store.writer.last_seq if resume is None else resume
            hello = {"workstation": ctx.workstation, "last_seq": ctx.store.writer.last_seq}
            await resp.write(b"retry: 1000\n" + _frame("hello", _json.encode(hello)))
            await _snapshot(resp, ctx)
            if resume is not None:
                last_sent = await _replay(resp, ctx, resume)
            while True:
                try:
                    event = await asyncio.wait_for(sub.get(), KEEPALIVE_S)
                except TimeoutError:
                    await resp.write(b": keepalive\n\n")
                    continue
                if event is None:
                    break
                if sub.lagged:
                    sub.lagged = False
                    last_sent = await _replay(resp, ctx, last_sent)
                    await _snapshot(resp, ctx)
                    continue
                last_sent = await _send(resp, event, last_sent)
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    return resp


async def _send(resp: web.StreamResponse, event: Event, last_sent: int) -> int:
    if event.seq is not None:
        if event.seq <= last_sent:
            return last_sent
        last_sent = event.seq
    await resp.write(_frame(event.type, event.data, event.seq))
    return last_sent
