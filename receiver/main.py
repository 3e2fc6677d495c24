"""`midas-edge receiver`: run the reference receiver until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
from pathlib import Path

from receiver import ReceiverError, SetupError
from receiver.app import serve
from receiver.checks import Trust
from receiver.region import Region
from receiver.region_cli import add_subcommands, region_tls
from receiver.storage import Storage

log = logging.getLogger("receiver")
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def server_tls(cert: str | None, key: str | None, client_ca: str | None) -> ssl.SSLContext | None:
    """TLS for the listener; with `client_ca`, clients must show a certificate it issued."""
    if cert is None and key is None:
        if client_ca is not None:
            raise SetupError("--client-ca needs --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise SetupError("--tls-cert and --tls-key go together")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SetupError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from exc
    if client_ca is not None:
        try:
            context.load_verify_locations(cafile=client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise SetupError(f"cannot load the client CA {client_ca}: {exc}") from exc
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def open_storage(db: str) -> Storage:
    """SQLite at a path, or PostgreSQL for a postgresql:// URL."""
    if db.startswith(("postgresql://", "postgres://")):
        try:
            from receiver.pg_store import PostgresStorage  # noqa: PLC0415  # optional extra
        except ImportError as exc:
            raise SetupError("PostgreSQL needs the receiver-pg extra (psycopg)") from exc
        return PostgresStorage(db)
    from receiver.sqlite_store import SqliteStorage  # noqa: PLC0415  # keeps imports symmetric

    path = Path(db)
    if not path.parent.is_dir():
        raise SetupError(f"--db {db}: the directory {path.parent} does not exist")
    return SqliteStorage(path)


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


async def run(
    args: argparse.Namespace, trust_dir: Path, storage: Storage, region: Region | None = None
) -> int:
    tls = region_tls(region) if region is not None else None
    tls = tls or server_tls(args.tls_cert, args.tls_key, args.client_ca)
    host, port = args.listen
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await storage.open()
    try:
        async with serve(storage, Trust(trust_dir), host, port, tls, region) as where:
            log.info("receiver listening on %s", where.url)
            print(f"receiver listening on {where.url}", flush=True)
            await stop.wait()
    finally:
        await storage.close()
    return EXIT_OK


def command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        if args.db is None:
            print("error: --db is required to run the receiver", file=sys.stderr)
            return EXIT_USAGE
        region = Region.load(Path(args.region)) if args.region else None
        if region is not None and (args.tls_cert or args.client_ca):
            raise SetupError("--region brings its own TLS files: no --tls-cert or --client-ca")
        if region is not None:
            # Enrollment registers keys in the region's trust dir: batches are checked there.
            if args.trust and Path(args.trust).resolve() != region.trust_dir.resolve():
                raise SetupError(
                    f"--region keeps its trust dir ({region.trust_dir}), where enrollment "
                    "registers the workstations' keys: no other --trust with it"
                )
            trust_dir = region.trust_dir
        elif args.trust:
            trust_dir = Path(args.trust)
        else:
            raise SetupError("--trust is required (or --region, which keeps its own)")
        if not trust_dir.is_dir():
            raise SetupError(f"--trust {trust_dir}: not a directory")
        return asyncio.run(run(args, trust_dir, open_storage(args.db), region))
    except ReceiverError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:  # a second ^C while shutting down
        return EXIT_OK


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `receiver` to the midas-edge CLI."""
    p = sub.add_parser("receiver", help="run the reference regional receiver")
    p.add_argument("--listen", type=_listen, default=("127.0.0.1", 8480), help="HOST:PORT")
    p.add_argument("--db", help="SQLite file path or postgresql://... URL (required to serve)")
    p.add_argument(
        "--trust",
        help="directory of <workstation>.pem public keys (retired ones in retired/, `trust-key`)",
    )
    p.add_argument(
        "--region",
        help="region directory (`receiver ca init`): TLS, client certificates, enrollment",
    )
    p.add_argument("--tls-cert", help="server certificate (PEM) for HTTPS")
    p.add_argument("--tls-key", help="server private key (PEM)")
    p.add_argument("--client-ca", help="require client certificates issued by this CA (mTLS)")
    p.set_defaults(func=command)
    add_subcommands(p)
