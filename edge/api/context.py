"""What the local API reads from the daemon (it never writes to the store)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from edge.alarms import Alarms
from edge.api.console_auth import ConsoleAuth
from edge.events import Hub
from edge.metrics import Metrics
from edge.portrait.session import Portraits
from edge.store import Store


@dataclass(slots=True)
class ApiContext:
    workstation: str
    store: Store
    hub: Hub
    alarms: Alarms
    metrics: Metrics
    devices: Callable[[], list[dict[str, object]]]
    token: str
    # Per sink: state, backlog, oldest undelivered age (the forwarder's snapshot).
    sinks: Callable[[], dict[str, object]] = dict
    # The alert list in force (`GET /v1/alerts/status`); None when alert lists are not configured.
    alerts: Callable[[], dict[str, object]] | None = None
    # Portrait captures (`/v1/portrait`); None when no camera is configured.
    portraits: Portraits | None = None
    # Officer console sign-in: login codes and session cookies (in memory).
    console: ConsoleAuth = field(default_factory=ConsoleAuth)


CONTEXT: web.AppKey[ApiContext] = web.AppKey("context", ApiContext)
