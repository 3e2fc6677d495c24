"""`midas-edge receiver ca init`, `enroll-token`, `operator-cert` and `trust-key`: the region's
side of enrollment, of who reads the records and of whose keys are trusted, and the TLS settings
of a receiver serving a region."""

from __future__ import annotations

import argparse
import math
import ssl
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge.wire import WireError, load_public_key
from receiver import ReceiverError, SetupError
from receiver.checks import WORKSTATION
from receiver.region import CA_CERT, Region, init_region, pem_key, write_private, write_public
from receiver.tokens import DEFAULT_VALID_S, TokenStore
from receiver.trust import KEY_ID, RETIRED, register_key, retired_path

EXIT_OK, EXIT_FAIL = 0, 1
# A token lives at most a month: one that never expires is a standing key to the region.
MAX_VALID_HOURS = 720.0


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
    if not (math.isfinite(args.valid_hours) and 0 < args.valid_hours <= MAX_VALID_HOURS):
        print(
            f"error: --valid-hours: expected a number of hours above 0 and at most "
            f"{MAX_VALID_HOURS:g}",
            file=sys.stderr,
        )
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


def cmd_operator_cert(args: argparse.Namespace) -> int:
    if not WORKSTATION.match(args.name):
        print("error: --name: expected letters, digits, '.', '_' or '-'", file=sys.stderr)
        return EXIT_FAIL
    out = Path(args.out)
    key_path, cert_path = out / f"{args.name}.key", out / f"{args.name}.crt"
    try:
        region = Region.load(Path(args.region))
        if key_path.exists():
            raise SetupError(f"{key_path} exists: keep it, or remove it to issue a new one")
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = region.issue_operator(args.name, key.public_key())
        write_private(key_path, pem_key(key))
        write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    except (ReceiverError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"operator certificate: {cert_path}")
    print(f"operator key: {key_path} (0600)")
    print(f"ca: {region.directory / CA_CERT}")
    return EXIT_OK


def cmd_trust_key(args: argparse.Namespace) -> int:
    if not WORKSTATION.match(args.workstation):
        print("error: --workstation: expected a workstation id", file=sys.stderr)
        return EXIT_FAIL
    try:
        directory = Region.load(Path(args.region)).trust_dir if args.region else Path(args.trust)
        if not directory.is_dir():
            raise SetupError(f"{directory}: not a directory")
        try:
            public = load_public_key(Path(args.key).read_bytes())
        except WireError as exc:
            raise SetupError(f"--key {args.key}: {exc}") from None
        done = register_key(directory, args.workstation, public, keep_old=not args.revoke_old)
    except (ReceiverError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    state = "trusted" if done.changed else "unchanged (already its current key)"
    print(f"{args.workstation}: key {done.key_id} {state}")
    if done.retired is not None:
        kept = retired_path(directory, args.workstation, done.retired)
        print(f"retired: key {done.retired}, kept as {kept}: what it sealed is still accepted")
        print("  (remove that file to revoke the key)")
    if done.revoked is not None:
        print(f"revoked: key {done.revoked}, not kept: what it sealed is no longer accepted")
    if args.revoke_old and not done.changed:
        # Nothing was replaced, so nothing was revoked: say which retired keys still count.
        prefix = f"{args.workstation}."
        still = sorted(
            path
            for path in (directory / RETIRED).glob(f"{prefix}*.pem")
            if KEY_ID.fullmatch(path.name.removeprefix(prefix).removesuffix(".pem"))
        )
        print("error: --revoke-old revoked nothing: the key was already current.", file=sys.stderr)
        for path in still:
            print(f"  still trusted, retired: {path} (remove it to revoke)", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """`receiver ca init`, `enroll-token`, `operator-cert`, `trust-key` (without one, `receiver`
    serves)."""
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
        "--valid-hours",
        type=float,
        default=DEFAULT_VALID_S / 3600,
        help=f"default: 24, at most {MAX_VALID_HOURS:g}",
    )
    token.set_defaults(func=cmd_enroll_token)
    operator = sub.add_parser(
        "operator-cert", help="issue a client certificate that reads every workstation's records"
    )
    operator.add_argument("--region", required=True, help="region directory")
    operator.add_argument("--name", required=True, help="who holds it (its common name)")
    operator.add_argument("--out", required=True, help="directory for NAME.key and NAME.crt")
    operator.set_defaults(func=cmd_operator_cert)
    trust = sub.add_parser(
        "trust-key",
        help="trust a workstation's chain key; the key it replaces stays trusted as retired",
    )
    where = trust.add_mutually_exclusive_group(required=True)
    where.add_argument("--trust", help="trust directory (as `receiver --trust`)")
    where.add_argument("--region", help="region directory (its trust directory)")
    trust.add_argument("--workstation", required=True, help="the workstation id")
    trust.add_argument("--key", required=True, help="its public key (PEM: workstation.pub)")
    trust.add_argument(
        "--revoke-old",
        action="store_true",
        help="do not keep the key it replaces as retired (a key that leaked)",
    )
    trust.set_defaults(func=cmd_trust_key)
