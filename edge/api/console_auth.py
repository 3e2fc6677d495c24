"""Officer console sign-in: one-time login codes exchanged for session cookies.

The API token never reaches the browser. `midas-edge console` asks the daemon (with the bearer
token) for a login code: random, valid for `CODE_TTL_S`, usable once. The browser opens
`/console/login?code=...`; the daemon exchanges the code for a session cookie (HttpOnly,
SameSite=Strict) that the auth middleware accepts for reads and the event stream, and for
writes only from the console's own origin. An event stream opened with a session ends when the
session does (sign-out at once, expiry within `SESSION_CHECK_S` of `edge.api.sse`). Codes and
sessions live in memory: a daemon restart signs every console out. Only SHA-256 digests of
codes and session ids are kept, so a lookup never compares a secret byte by byte.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

COOKIE = "midas_console"
# A code is typed or opened within seconds of being asked for; it is worth nothing after.
CODE_TTL_S = 30.0
# One shift at the counter; after it the officer signs in again.
SESSION_TTL_S = 12 * 3600.0
# Bounds on what an unauthenticated caller could make the daemon keep (codes need the token).
MAX_CODES = 16
MAX_SESSIONS = 32
_SAFE_METHODS = frozenset({"GET", "HEAD"})


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a console request was refused: a stable code and words for the log."""

    code: str
    message: str


class ConsoleAuth:
    """Login codes and console sessions; `clock` is monotonic seconds (tests pass their own)."""

    def __init__(
        self,
        *,
        code_ttl: float = CODE_TTL_S,
        session_ttl: float = SESSION_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.code_ttl = code_ttl
        self.session_ttl = session_ttl
        self._clock = clock
        self._codes: dict[str, float] = {}  # digest -> expiry
        self._sessions: dict[str, float] = {}  # digest -> expiry
        self._watchers: dict[str, list[Callable[[], None]]] = {}  # digest -> on_end callbacks

    def _expire(self) -> None:
        now = self._clock()
        for table in (self._codes, self._sessions):
            for key in [k for k, until in table.items() if until <= now]:
                del table[key]

    def new_code(self) -> str:
        """A fresh login code; the oldest pending code goes when too many are pending."""
        self._expire()
        while len(self._codes) >= MAX_CODES:
            del self._codes[min(self._codes, key=self._codes.__getitem__)]
        code = secrets.token_urlsafe(24)
        self._codes[_digest(code)] = self._clock() + self.code_ttl
        return code

    def redeem(self, code: str) -> str | None:
        """The new session id for a valid, unused, unexpired `code`; None otherwise."""
        self._expire()
        if self._codes.pop(_digest(code), None) is None:
            return None
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[min(self._sessions, key=self._sessions.__getitem__)]
        session = secrets.token_urlsafe(32)
        self._sessions[_digest(session)] = self._clock() + self.session_ttl
        return session

    def valid(self, session: str) -> bool:
        self._expire()
        return _digest(session) in self._sessions

    def end(self, session: str) -> None:
        """Forget `session` and tell whoever watches it (its open event streams)."""
        key = _digest(session)
        self._sessions.pop(key, None)
        for on_end in self._watchers.pop(key, []):
            on_end()

    @contextmanager
    def watch(self, session: str, on_end: Callable[[], None]) -> Iterator[None]:
        """Call `on_end()` if `session` is ended while the block runs (an expiry is found by
        asking `valid()`)."""
        key = _digest(session)
        self._watchers.setdefault(key, []).append(on_end)
        try:
            yield
        finally:
            watchers = self._watchers.get(key, [])
            if on_end in watchers:
                watchers.remove(on_end)
            if not watchers:
                self._watchers.pop(key, None)

    def active_sessions(self) -> int:
        self._expire()
        return len(self._sessions)


def bearer_matches(request: web.Request, token: str) -> bool:
    """Whether the request carries the API token in its `Authorization` header."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def own_origin(request: web.Request) -> str:
    """The origin the console was served from, as a browser writes it in `Origin`."""
    return f"{request.scheme}://{request.host}"


def check_session(request: web.Request, auth: ConsoleAuth) -> Refusal | None:
    """None when the request's console cookie may do what it asks; else why not.

    Reads (GET, HEAD: pages, records, the event stream) need a valid session cookie. Anything
    else also needs an `Origin` header naming the console's own origin (and, where the browser
    sends it, `Sec-Fetch-Site: same-origin`): a page elsewhere cannot act with the officer's
    cookie.
    """
    session = request.cookies.get(COOKIE)
    if not session:
        return Refusal("no_credentials", "no bearer token and no console session")
    if not auth.valid(session):
        return Refusal("session_expired", "the console session is unknown or has expired")
    if request.method in _SAFE_METHODS:
        return None
    if request.headers.get("Origin") != own_origin(request):
        return Refusal("cross_origin", "a console write came without the console's own origin")
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site != "same-origin":
        return Refusal("cross_site", "a console write came from another site")
    return None
