"""`midas-edge alerts`: region keys and lists (headquarters), checks and drops (technicians).

    keygen --out KEY                 a region key (KEY 0600, KEY.pub); prints its public base64
    build --key KEY --input ROWS --out LIST [--version N] [--valid-days D | --expires T]
    verify LIST [--public-key K]     the list's header if the region key signed it
    import LIST                      verify, then place it in the daemon's drop dir
    status                           the running daemon's list (else the one it keeps)
    publish LIST --db DB --public-key K   into a reference receiver's database

Output is JSON; exit 1 when the list or the system is not ok. Clear identifiers given to
`build` are read, hashed and never printed or logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.alerts import keys
from edge.alerts.build import build_list, read_rows
from edge.alerts.errors import AlertListError, ListRefused
from edge.alerts.keeper import LIST_FILE
from edge.alerts.listfile import ListFile, parse_time, utc_iso, verify
from edge.alerts.service import DROP_DIR
from edge.api.client import get_json
from edge.config import Config, load, resolve_path
from edge.store.files import write_private
from edge.wire import key_id

EXIT_OK, EXIT_FAIL = 0, 1
API_TIMEOUT_S = 2.0


def _print(value: object) -> None:
    sys.stdout.write(json.dumps(value) + "\n")


def _summary(listed: ListFile, now: float) -> dict[str, object]:
    header = listed.header
    return {
        "version": header.version,
        "issued_at": header.issued_at,
        "expires_at": header.expires_at,
        "stale": now >= listed.expires.timestamp(),
        "entries": header.entries,
        "region": header.region,
        "key_id": header.key_id,
        "sha256": listed.sha256,
        "bytes": listed.size,
    }


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AlertListError(f"{path} cannot be read ({exc.strerror})") from None


def _configured(args: argparse.Namespace) -> Config:
    config = load(resolve_path(args.config))
    if config.alerts is None:
        raise AlertListError("the config has no [alerts] section")
    return config


def _key_arg(text: str) -> Ed25519PublicKey:
    """A region key given on the command line: a PEM file (any path), PEM text or base64."""
    path = Path(text)
    return keys.load_public_key(str(path.resolve()) if path.is_file() else text)


def _public_key(args: argparse.Namespace) -> Ed25519PublicKey:
    if args.public_key:
        return _key_arg(args.public_key)
    config = _configured(args)
    assert config.alerts is not None
    return keys.load_public_key(config.alerts.public_key)


def _verified(path: Path, public_key: Ed25519PublicKey) -> ListFile | None:
    try:
        return verify(_read(path), public_key)
    except ListRefused as exc:
        _print({"file": path.name, "refused": exc.code, "message": exc.message})
        return None


def cmd_keygen(args: argparse.Namespace) -> int:
    key = keys.generate(Path(args.out))
    public = key.public_key()
    _print(
        {
            "private_key": args.out,
            "public_key_file": str(keys.public_path(Path(args.out))),
            "public_key": keys.public_base64(public),
            "key_id": key_id(public),
        }
    )
    return EXIT_OK


def _when(text: str | None, option: str) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise AlertListError(f"{option}: expected an ISO 8601 time") from None


def cmd_build(args: argparse.Namespace) -> int:
    private_key = keys.load_private_key(Path(args.key))
    issued = _when(args.issued, "--issued") or datetime.now(UTC).replace(microsecond=0)
    expires = _when(args.expires, "--expires") or issued + timedelta(days=args.valid_days)
    version = args.version if args.version is not None else int(issued.timestamp())
    rows = read_rows(Path(args.input))
    data, entries = build_list(
        rows,
        version=version,
        issued=issued,
        expires=expires,
        private_key=private_key,
        region=args.region,
    )
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_bytes(data)
    tmp.replace(out)
    _print(
        {
            "out": str(out),
            "version": version,
            "issued_at": utc_iso(issued),
            "expires_at": utc_iso(expires),
            "rows": len(rows),
            "entries": entries,
            "bytes": len(data),
        }
    )
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    listed = _verified(Path(args.file), _public_key(args))
    if listed is None:
        return EXIT_FAIL
    _print(_summary(listed, time.time()))
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    config = _configured(args)
    assert config.alerts is not None
    public_key = keys.load_public_key(config.alerts.public_key)
    path = Path(args.file)
    listed = _verified(path, public_key)
    if listed is None:
        return EXIT_FAIL
    try:
        kept: ListFile | None = verify((config.data_dir / LIST_FILE).read_bytes(), public_key)
    except (OSError, ListRefused):
        kept = None  # none kept, or not readable by this user: the daemon decides
    if kept is not None and listed.header.version <= kept.header.version:
        same = kept.sha256 == listed.sha256
        _print({"file": path.name, "refused": "already_in_force" if same else "older_version"})
        return EXIT_OK if same else EXIT_FAIL
    drop = Path(config.alerts.drop_dir or config.data_dir / DROP_DIR)
    target = drop / f"alert-list-{listed.header.version}.bin"
    _place(_read(path), target)
    _print({**_summary(listed, time.time()), "placed": str(target)})
    return EXIT_OK


def _place(data: bytes, target: Path) -> None:
    """`data` as `target` (0600, renamed into place), owned like the drop dir when run as root."""
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        owner = None
        if os.geteuid() == 0:
            folder = target.parent.stat()
            owner = (folder.st_uid, folder.st_gid)
        write_private(target, data, owner=owner)
    except OSError as exc:
        raise AlertListError(f"{target} cannot be written ({exc.strerror})") from None


def _daemon_status(config: Config) -> dict[str, Any] | None:
    return get_json(config, "/v1/alerts/status")


def cmd_status(args: argparse.Namespace) -> int:
    config = _configured(args)
    assert config.alerts is not None
    status = _daemon_status(config)
    if status is not None:
        _print({"daemon": True, **status})
        return EXIT_OK if status.get("in_force") and not status.get("stale") else EXIT_FAIL
    public_key = keys.load_public_key(config.alerts.public_key)
    kept = config.data_dir / LIST_FILE
    if not kept.exists():
        _print({"daemon": False, "in_force": False})
        return EXIT_FAIL
    listed = _verified(kept, public_key)
    if listed is None:
        return EXIT_FAIL
    summary = _summary(listed, time.time())
    _print({"daemon": False, "in_force": True, **summary})
    return EXIT_FAIL if summary["stale"] else EXIT_OK


async def _publish(db: str, listed: ListFile, data: bytes) -> str:
    from receiver.main import open_storage  # noqa: PLC0415  # headquarters' tool only

    storage = open_storage(db)
    await storage.open()
    try:
        return await storage.publish_alert_list(
            listed.header.version, listed.sha256, data, time.time()
        )
    finally:
        await storage.close()


def cmd_publish(args: argparse.Namespace) -> int:
    from receiver import ReceiverError  # noqa: PLC0415  # headquarters' tool only

    path = Path(args.file)
    data = _read(path)
    listed = _verified(path, _key_arg(args.public_key))
    if listed is None:
        return EXIT_FAIL
    try:
        outcome = asyncio.run(_publish(args.db, listed, data))
    except ReceiverError as exc:
        raise AlertListError(f"the receiver's database: {exc}") from None
    _print({**_summary(listed, time.time()), "published": outcome})
    return EXIT_OK if outcome in ("stored", "duplicate") else EXIT_FAIL


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `alerts` to the midas-edge CLI."""
    alerts = sub.add_parser("alerts", help="offline alert lists: keys, lists, status")
    actions = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="config file (default: $MIDAS_EDGE_CONFIG or /etc/...)")
        return p

    keygen = actions.add_parser("keygen", help="create a region key (headquarters)")
    keygen.add_argument("--out", required=True, help="private key file to create (0600)")
    keygen.set_defaults(func=cmd_keygen)

    build = actions.add_parser("build", help="clear identifiers (CSV/JSON) -> signed list")
    build.add_argument("--key", required=True, help="the region's private key (PEM)")
    build.add_argument("--input", required=True, help="CSV, JSON array or JSON lines")
    build.add_argument("--out", required=True, help="list file to write")
    build.add_argument("--version", type=int, help="list version (default: issue time, Unix s)")
    build.add_argument("--issued", help="issue time, ISO 8601 UTC (default: now)")
    build.add_argument("--expires", help="expiry, ISO 8601 UTC (default: --valid-days)")
    build.add_argument("--valid-days", type=float, default=7.0, help="days until expiry")
    build.add_argument("--region", default="", help="a label for the region")
    build.set_defaults(func=cmd_build)

    check = with_config(actions.add_parser("verify", help="check a list file's signature"))
    check.add_argument("file")
    check.add_argument("--public-key", help="region key: PEM file, PEM text or base64")
    check.set_defaults(func=cmd_verify)

    imp = with_config(actions.add_parser("import", help="hand a list file to the daemon"))
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)

    status = with_config(actions.add_parser("status", help="the list the daemon uses"))
    status.set_defaults(func=cmd_status)

    publish = actions.add_parser("publish", help="publish a list in a reference receiver")
    publish.add_argument("file")
    publish.add_argument("--db", required=True, help="the receiver's SQLite path or URL")
    publish.add_argument("--public-key", required=True, help="region key to verify with")
    publish.set_defaults(func=cmd_publish)
