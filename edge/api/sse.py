"""`GET /v1/events`: Server-Sent Events of records, device changes and alarms.

A client that sends `Last-Event-ID` (the last record sequence it saw) gets every record after
it replayed from the store first; a client too slow for the live stream is caught up the
same way, so no committed record is ever missing from a stream.

A stream opened with the officer console's session cookie ends with a `session_ended` event
(`reason`: `signed_out` or `expired`) when that session does: at once on sign-out, within
`SESSION_CHECK_S` on expiry. A stream opened with the bearer token is not tied to a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import msgspec
from aiohttp import web

from edge.api.console_auth import COOKIE, bearer_matches
from edge.api.context import CONTEXT, ApiContext
from edge.events import Event, Subscription

KEEPALIVE_S = 15.0
# How often a console stream checks that its session is still valid (expiry, eviction).
SESSION_CHECK_S = 5.0
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


class _Session:
    """The console session a stream was opened with (None: the bearer token)."""

    def __init__(self, ctx: ApiContext, cookie: str | None) -> None:
        self._ctx = ctx
        self.cookie = cookie
        self.signed_out = False
        self._next_check = time.monotonic() + SESSION_CHECK_S

    def watch(self, sub: Subscription) -> contextlib.AbstractContextManager[None]:
        if self.cookie is None:
            return contextlib.nullcontext()

        def ended() -> None:
            self.signed_out = True
            sub.close()

        return self._ctx.console.watch(self.cookie, ended)

    def ended(self, *, force: bool = False) -> str | None:
        """Why the stream must end (`signed_out`, `expired`), or None; asks the sign-in state
        at most every SESSION_CHECK_S unless `force`."""
        if self.cookie is None:
            return None
        if self.signed_out:
            return "signed_out"
        now = time.monotonic()
        if not force and now < self._next_check:
            return None
        self._next_check = now + SESSION_CHECK_S
        return None if self._ctx.console.valid(self.cookie) else "expired"


async def events(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    header = request.headers.get("Last-Event-ID", "").strip()
    resume = int(header) if header.isdigit() else None
    session = _Session(
        ctx, None if bearer_matches(request, ctx.token) else request.cookies.get(COOKIE)
    )
    wait_s = KEEPALIVE_S if session.cookie is None else min(KEEPALIVE_S, SESSION_CHECK_S)
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await resp.prepare(request)
    try:
        with ctx.hub.subscribe() as sub, session.watch(sub):
            # Subscribe first, then read the position: nothing can commit in between.
            last_sent = ctx.store.writer.last_seq if resume is None else resume
            hello = {"workstation": ctx.workstation, "last_seq": ctx.store.writer.last_seq}
            await resp.write(b"retry: 1000\n" + _frame("hello", _json.encode(hello)))
            await _snapshot(resp, ctx)
            if resume is not None:
                last_sent = await _replay(resp, ctx, resume)
            quiet_since = time.monotonic()
            while session.ended() is None:
                try:
                    async with asyncio.timeout(wait_s):
                        event = await sub.get()
                except TimeoutError:
                    if time.monotonic() - quiet_since >= KEEPALIVE_S:
                        await resp.write(b": keepalive\n\n")
                        quiet_since = time.monotonic()
                    continue
                if event is None:
                    break
                quiet_since = time.monotonic()
                if sub.lagged:
                    sub.lagged = False
                    last_sent = await _replay(resp, ctx, last_sent)
                    await _snapshot(resp, ctx)
                    continue
                last_sent = await _send(resp, event, last_sent)
            reason = session.ended(force=True)
            if reason is not None:
                await resp.write(_frame("session_ended", _json.encode({"reason": reason})))
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
