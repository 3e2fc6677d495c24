"""The officer console: its page and assets, sign-in with a one-time code, security headers.

    POST /v1/console/login-code   bearer token only: a one-time code, valid CODE_TTL_S seconds
    GET  /console/login?code=C    exchanges the code for the session cookie, then /console
    GET  /v1/console/session      whether the caller is signed in (the page asks on load)
    POST /v1/console/logout       ends the console session and clears its cookie
    GET  /console, /console/NAME  the page and its assets (package data in `edge/console/`)

The page and assets hold no data; everything personal comes from the authenticated API. Every
console response carries a strict content security policy (own origin only, no inline script),
refuses framing and referrers, and is never cached.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import resources

import msgspec
from aiohttp import web

from edge.api.console_auth import COOKIE, bearer_matches
from edge.api.context import CONTEXT

log = logging.getLogger("midas_edge.api.console")

PREFIX = "/console"
LOGIN_PATH = f"{PREFIX}/login"
SIGNIN_PAGE = "signin.html"
MAX_CODE_CHARS = 128
_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=(), serial=()",
    "Cache-Control": "no-store",
}
_json = msgspec.json.Encoder()


class Assets:
    """The console's files, read once from the package on first use (off the loop)."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[bytes, str]] | None = None
        self._lock = asyncio.Lock()

    @staticmethod
    def _read() -> dict[str, tuple[bytes, str]]:
        folder = resources.files("edge") / "console"
        found: dict[str, tuple[bytes, str]] = {}
        for entry in folder.iterdir():
            suffix = "." + entry.name.rpartition(".")[2]
            if entry.is_file() and suffix in _TYPES:
                found[entry.name] = (entry.read_bytes(), _TYPES[suffix])
        return found

    async def get(self, name: str) -> tuple[bytes, str] | None:
        if self._files is None:
            async with self._lock:
                if self._files is None:
                    self._files = await asyncio.to_thread(self._read)
        return self._files.get(name)


ASSETS: web.AppKey[Assets] = web.AppKey("console_assets", Assets)


def is_public(path: str) -> bool:
    """Console paths that need no credentials: the page, its assets and the code exchange."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _reply(body: object, status: int = 200) -> web.Response:
    return web.Response(body=_json.encode(body), status=status, content_type="application/json")


async def _file(request: web.Request, name: str, status: int = 200) -> web.Response:
    found = await request.app[ASSETS].get(name)
    if found is None:
        return web.Response(status=404, text="not found", content_type="text/plain")
    body, media_type = found
    return web.Response(body=body, status=status, content_type=media_type, charset="utf-8")


async def page(request: web.Request) -> web.Response:
    return await _file(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name == "index.html":
        raise web.HTTPFound(PREFIX)
    return await _file(request, name)


async def login_code(request: web.Request) -> web.Response:
    """A one-time login code, for the bearer token's holder only (never a console session)."""
    ctx = request.app[CONTEXT]
    if not bearer_matches(request, ctx.token):
        return _reply({"error": "login codes are issued to the API token only"}, 403)
    auth = ctx.console
    code = auth.new_code()
    log.info("console login code issued", extra={"expires_in_s": auth.code_ttl})
    return _reply(
        {
            "code": code,
            "expires_in": auth.code_ttl,
            "path": f"{LOGIN_PATH}?code={code}",
        },
        201,
    )


async def login(request: web.Request) -> web.StreamResponse:
    """Exchange a login code for the session cookie; a bad code gets the sign-in page."""
    auth = request.app[CONTEXT].console
    code = request.query.get("code", "")
    session = auth.redeem(code) if 0 < len(code) <= MAX_CODE_CHARS else None
    if session is None:
        log.warning("console sign-in refused", extra={"reason": "unknown_or_used_code"})
        return await _file(request, SIGNIN_PAGE, 403)
    log.info("console signed in", extra={"sessions": auth.active_sessions()})
    response = web.HTTPSeeOther(PREFIX)
    response.set_cookie(
        COOKIE,
        session,
        max_age=int(auth.session_ttl),
        path="/",
        httponly=True,
        samesite="Strict",
    )
    raise response


async def session_status(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return _reply(
        {
            "workstation": ctx.workstation,
            "via": "token" if bearer_matches(request, ctx.token) else "console",
            "portrait": ctx.portraits is not None,
            "alerts": ctx.alerts is not None,
        }
    )


async def logout(request: web.Request) -> web.Response:
    session = request.cookies.get(COOKIE)
    if session:
        request.app[CONTEXT].console.end(session)
        log.info("console signed out")
    response = _reply({"signed_out": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Console pages get the strict set; API answers (records, images, the event stream) are
    never cached, never sniffed and never readable by a page of another origin."""
    if is_public(request.path):
        for name, value in _PAGE_HEADERS.items():
            response.headers[name] = value
        return
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"


def add_routes(app: web.Application) -> None:
    app[ASSETS] = Assets()
    app.router.add_post("/v1/console/login-code", login_code)
    app.router.add_get("/v1/console/session", session_status)
    app.router.add_post("/v1/console/logout", logout)
    app.router.add_get(PREFIX, page)
    app.router.add_get(LOGIN_PATH, login)
    app.router.add_get(PREFIX + "/{name:[a-z0-9-]+\\.(?:html|css|js)}", asset)
    app.on_response_prepare.append(security_headers)
