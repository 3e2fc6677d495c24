"""Who may do what on a receiver serving a region (`--region`: mutual TLS with the region CA).

The region CA issues two kinds of client certificates, told apart by their subject:

- a workstation's, at enrollment: its workstation id as the only common name, nothing else;
- an operator's (`midas-edge receiver operator-cert`): a common name and the organizational
  unit `operators`, for the regional and central systems that read what workstations sent.

| route                                   | no certificate | workstation     | operator |
|-----------------------------------------|----------------|-----------------|----------|
| /v1/health, /v1/enroll, /v1/enroll/ca   | yes            | yes             | yes      |
| POST /v1/batches                        | -              | its own batches | -        |
| PUT /v1/blobs/{sha256}                  | -              | yes             | -        |
| HEAD /v1/blobs/{sha256}                 | -              | yes             | yes      |
| GET /v1/alert-lists/latest              | -              | yes             | yes      |
| GET /v1/workstations/{id}/chain         | -              | its own         | yes      |
| GET /v1/records, /v1/records/{id}, GET /v1/blobs/{sha256}, /v1/workstations | - | - | yes |

A refusal is 403 `client_certificate_required`, `operator_certificate_required` (a
workstation reading what is not its own), `workstation_certificate_required` (an operator
writing) or `certificate_mismatch` (a batch of another workstation). Without a region the
receiver keeps its plain rules (`--client-ca`: any certificate of that CA).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web

from receiver.checks import Refused
from receiver.enroll import REGION_KEY
from receiver.region import OPERATOR_UNIT

# Routes a workstation reaches before it holds a certificate.
OPEN_PATHS = frozenset({"/v1/enroll", "/v1/enroll/ca", "/v1/health"})
# (method, route) a workstation certificate may use; `{workstation}` must be its own.
WORKSTATION_ROUTES = frozenset(
    {
        ("POST", "/v1/batches"),
        ("PUT", "/v1/blobs/{sha256}"),
        ("HEAD", "/v1/blobs/{sha256}"),
        ("GET", "/v1/alert-lists/latest"),
        ("GET", "/v1/workstations/{workstation}/chain"),
    }
)
OPERATOR_METHODS = frozenset({"GET", "HEAD"})


class Role(StrEnum):
    NONE = "none"
    WORKSTATION = "workstation"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Peer:
    """The verified client certificate's role and common name."""

    role: Role
    name: str = ""


NOBODY = Peer(Role.NONE)


def peer_of(request: web.Request) -> Peer:
    """What the client's verified certificate makes it (NOBODY without one)."""
    transport = request.transport
    cert: Any = transport.get_extra_info("peercert") if transport is not None else None
    if not cert:
        return NOBODY
    pairs = [(key, value) for rdn in cert.get("subject", ()) for key, value in rdn]
    names = [value for key, value in pairs if key == "commonName"]
    units = [value for key, value in pairs if key == "organizationalUnitName"]
    if len(names) != 1:
        return NOBODY
    if not units:
        return Peer(Role.WORKSTATION, names[0])
    if units == [OPERATOR_UNIT]:
        return Peer(Role.OPERATOR, names[0])
    return NOBODY


def _route(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def refusal(request: web.Request, peer: Peer) -> str | None:
    """Why `peer` may not make this request, or None (the table in the module docstring)."""
    if request.path in OPEN_PATHS:
        return None
    if peer.role is Role.NONE:
        return "client_certificate_required"
    route = _route(request)
    if route is None:  # no such route: the router answers 404 / 405
        return None
    method = request.method
    if peer.role is Role.OPERATOR:
        return None if method in OPERATOR_METHODS else "workstation_certificate_required"
    if (method, route) not in WORKSTATION_ROUTES:
        return "operator_certificate_required"
    own = request.match_info.get("workstation")
    if own is not None and own != peer.name:
        return "operator_certificate_required"
    return None


@web.middleware
async def client_certificates(request: web.Request, handler: Any) -> web.StreamResponse:
    """With a region, every request passes the table above."""
    if request.app.get(REGION_KEY) is not None:
        reason = refusal(request, peer_of(request))
        if reason is not None:
            raise Refused(403, reason)
    response: web.StreamResponse = await handler(request)
    return response


def check_batch_sender(request: web.Request, workstation: str) -> None:
    """With a region, a batch comes from the workstation its client certificate names."""
    if request.app.get(REGION_KEY) is None:
        return
    peer = peer_of(request)
    if peer.role is not Role.WORKSTATION or peer.name != workstation:
        raise Refused(403, "certificate_mismatch")
