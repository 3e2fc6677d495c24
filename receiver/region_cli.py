"""`midas-edge receiver ca init` and `midas-edge receiver enroll-token`: the region's side of
enrollment, and the TLS settings of a receiver serving a region."""

from __future__ import annotations

import argparse
import ssl
import sys
import time
from pathlib import Path

from receiver import ReceiverError, SetupError
from receiver.checks import WORKSTATION
from receiver.region import Region, init_region
from receiver.tokens import DEFAULT_VALID_S, TokenStore

EXIT_OK, EXIT_FAIL = 0, 1


def region_tls(region: Region) -> ssl.SSLContext:
    """The region's server certificate; client certificates of the region CA are verified when
    shown (CERT_OPTIONAL: a workstation enrolls before it has one; the app requires them on
    every other route)."""
    cert, key = region.server_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
        context.load_verify_locations(cadata=region.ca_pem.decode())
    except (OSError, ssl.SSLError) as exc:
        raise SetupError(
            f"{region.directory}: the server certificate cannot be loaded ({exc})"
        ) from exc
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


def cmd_ca_init(args: argparse.Namespace) -> int:
    directory = Path(args.region)
    try:
        region, created = init_region(directory, args.name or ["localhost"])
    except (ReceiverError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    state = "created" if created else "exists (kept: every workstation pins it)"
    print(f"region CA {state}: {directory}")
    print(f"ca-fingerprint: {region.fingerprint}")
    return EXIT_OK


def cmd_enroll_token(args: argparse.Namespace) -> int:
    if not WORKSTATION.match(args.workstation):
        print("error: --workstation: expected a workstation id", file=sys.stderr)
        return EXIT_FAIL
    if args.valid_hours <= 0:
        print("error: --valid-hours: expected a number above zero", file=sys.stderr)
        return EXIT_FAIL
    try:
        region = Region.load(Path(args.region))
        token = TokenStore(region.tokens_path).issue(
            args.workstation, time.time(), args.valid_hours * 3600.0
        )
    except (ReceiverError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    # The token goes to stdout only, for the technician; it is never logged.
    print(f"token: {token}")
    print(f"ca-fingerprint: {region.fingerprint}")
    print(f"workstation: {args.workstation} (single use, valid {args.valid_hours:g} h)")
    return EXIT_OK


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """`receiver ca init` and `receiver enroll-token` (without one, `receiver` serves)."""
    sub = parser.add_subparsers(dest="receiver_command", metavar="ACTION")
    ca = sub.add_parser("ca", help="the region's certificate authority")
    ca_sub = ca.add_subparsers(dest="ca_command", required=True, metavar="ACTION")
    init = ca_sub.add_parser("init", help="create the region CA and the server certificate")
    init.add_argument("--region", required=True, help="region directory (created 0700)")
    init.add_argument(
        "--name",
        action="append",
        help="host name or address of the receiver (repeat; default: localhost)",
    )
    init.set_defaults(func=cmd_ca_init)
    token = sub.add_parser("enroll-token", help="print a one-time enrollment token")
    token.add_argument("--region", required=True, help="region directory")
    token.add_argument("--workstation", required=True, help="the workstation id it enrolls")
    token.add_argument(
        "--valid-hours", type=float, default=DEFAULT_VALID_S / 3600, help="default: 24"
    )
    token.set_defaults(func=cmd_enroll_token)
