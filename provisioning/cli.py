"""`midas-edge provision` and `midas-edge doctor` on the command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from edge.config import resolve_path
from provisioning.doctor import DEFAULT_MAX_BACKLOG_S, diagnose, render
from provisioning.errors import ProvisioningError
from provisioning.provision import provision
from provisioning.settings import SELFTEST_MODES, build, read_answers, read_token
from provisioning.ui import Console

EXIT_OK, EXIT_FAIL = 0, 1
TOKEN_ENV = "MIDAS_EDGE_ENROLL_TOKEN"  # noqa: S105  # a variable's name, not a secret


def _token(args: argparse.Namespace) -> str | None:
    """--enroll-token, else --enroll-token-file, else $MIDAS_EDGE_ENROLL_TOKEN."""
    if args.enroll_token:
        return str(args.enroll_token)
    if args.enroll_token_file:
        return read_token(args.enroll_token_file)
    return os.environ.get(TOKEN_ENV) or None


def cmd_provision(args: argparse.Namespace) -> int:
    interactive = not args.non_interactive and sys.stdin.isatty()
    flags: dict[str, Any] = {
        "workstation": args.workstation,
        "data_dir": args.data_dir,
        "config_path": args.config,
        "region_url": args.region_url,
        "enroll_token": None,
        "ca_fingerprint": args.ca_fingerprint,
        "nas_target": args.nas,
        "executable": args.executable,
        "given": args.device,
        "root": args.root.resolve() if args.root else None,
        "dry_run": args.dry_run,
        "interactive": interactive,
        "selftest": "never" if args.no_selftest else args.self_test,
    }
    try:
        flags["enroll_token"] = _token(args)
        answers = read_answers(args.answers) if args.answers else {}
        settings = build(flags, answers)
        console = Console(sys.stdout, sys.stdin, interactive, hidden=getpass.getpass)
        report = asyncio.run(provision(settings, console))
    except ProvisioningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK if report.ok else EXIT_FAIL


def cmd_doctor(args: argparse.Namespace) -> int:
    path = str(resolve_path(args.config))
    root = args.root.resolve() if args.root else None
    results = asyncio.run(diagnose(path, root, max_backlog_s=args.max_backlog_age))
    return render(results, sys.stdout, as_json=args.json)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `provision` and `doctor` to the midas-edge CLI."""
    p = sub.add_parser("provision", help="turn this machine into a provisioned workstation")
    p.add_argument("--config", help="config file to write (default: /etc/midas-edge/config.toml)")
    p.add_argument("--answers", type=Path, help="TOML answers file (see the README)")
    p.add_argument("--non-interactive", action="store_true", help="ask nothing")
    p.add_argument("--dry-run", action="store_true", help="show every change, make none")
    p.add_argument("--root", type=Path, help="stage everything under this directory")
    p.add_argument("--workstation", help="workstation id")
    p.add_argument("--data-dir", help="data directory (default: /var/lib/midas-edge)")
    p.add_argument("--region-url", help="regional server URL (HTTP sink and enrollment)")
    p.add_argument(
        "--enroll-token", help="one-time token from `receiver enroll-token` (shows in ps)"
    )
    p.add_argument(
        "--enroll-token-file",
        type=Path,
        help=f"read the token from this file (or set {TOKEN_ENV}): it shows in no process list",
    )
    p.add_argument("--ca-fingerprint", help="sha256:... of the region CA, printed with the token")
    p.add_argument("--nas", help="NAS mount point for the NAS sink")
    p.add_argument("--executable", help="ExecStart= program (default: /usr/bin/midas-edge)")
    p.add_argument(
        "--device",
        action="append",
        metavar="NAME=PATH:DRIVER",
        help="use this device as said, found or not (repeat)",
    )
    p.add_argument(
        "--self-test",
        choices=SELFTEST_MODES,
        help="always; changed (default: skipped when nothing changed since the last passed "
        "self-test); never",
    )
    p.add_argument("--no-selftest", action="store_true", help="the same as --self-test never")
    p.set_defaults(func=cmd_provision)

    d = sub.add_parser("doctor", help="check a provisioned workstation, change nothing")
    d.add_argument("--config", help="config file (default: $MIDAS_EDGE_CONFIG or /etc/...)")
    d.add_argument("--root", type=Path, help="check the system staged under this directory")
    d.add_argument("--json", action="store_true", help="JSON output")
    d.add_argument(
        "--max-backlog-age",
        type=float,
        default=DEFAULT_MAX_BACKLOG_S,
        help="seconds an undelivered record may wait (default: 3600)",
    )
    d.set_defaults(func=cmd_doctor)
