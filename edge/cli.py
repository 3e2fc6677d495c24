"""`midas-edge <command>`: exit 0 ok, 1 when the input or the system is not ok, 2 usage error."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from agent import outbox
from drivers.registry import default_registry
from edge import (
    __version__,
    alarms_cli,
    demo,
    devices_cli,
    jsonlog,
    parse,
    records,
    runner,
    simulate,
)
from edge.alerts.cli import add_command as add_alerts_command
from edge.app import App
from edge.config import Config, check_data_dir, load, resolve_path
from edge.config_check import check_config
from edge.console_cli import add_command as add_console_command
from edge.devices import resolve_drivers
from edge.errors import EdgeError
from edge.store.store import DB_NAME
from provisioning.cli import add_commands as add_provisioning_commands
from receiver.main import add_command as add_receiver_command

EXIT_OK, EXIT_FAIL = 0, 1  # argparse exits 2 on a usage error


def _load_checked(path_arg: str | None) -> tuple[Config, str]:
    path = resolve_path(path_arg)
    config = load(path)
    resolve_drivers(config, default_registry, str(path))
    return config, str(path)


def cmd_config_check(args: argparse.Namespace) -> int:
    path = resolve_path(args.path or args.config)
    config, source = load(path), str(path)
    check_config(config, default_registry, source)
    print(
        f"{source}: ok (workstation {config.workstation.id}, {len(config.devices)} devices, "
        f"{len(config.sinks)} sinks)"
    )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(records.json_schema(), indent=2))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    config, source = _load_checked(args.config)
    check_data_dir(config, source)
    jsonlog.setup(config.log.level)
    return runner.run(App(config, source=source))


def cmd_records(args: argparse.Namespace) -> int:
    config = load(resolve_path(args.config))
    path = config.data_dir / DB_NAME
    if not path.exists():
        print(f"error: no record store at {path}", file=sys.stderr)
        return EXIT_FAIL
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT body FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
                (args.after, args.limit),
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        print(f"error: the record store cannot be read ({exc})", file=sys.stderr)
        return EXIT_FAIL
    for (body,) in rows:
        sys.stdout.write(bytes(body).decode() + "\n")
    return EXIT_OK


def cmd_outbox(args: argparse.Namespace) -> int:
    return outbox.run(load(resolve_path(args.config)), args, sys.stdout)


def cmd_devices(args: argparse.Namespace) -> int:
    config, _ = _load_checked(args.config)
    return devices_cli.show(config, default_registry, sys.stdout, probe=args.probe)


def cmd_alarms(args: argparse.Namespace) -> int:
    config, _ = _load_checked(args.config)
    return alarms_cli.run(config, args, sys.stdout, sys.stderr)


def cmd_simulate(args: argparse.Namespace) -> int:
    return simulate.main(args.profile, args.link, args.socket, args.every)


def cmd_parse(args: argparse.Namespace) -> int:
    certs = Path(args.certs) if getattr(args, "certs", None) else None
    return parse.run(
        args.kind, sys.stdin.buffer, sys.stdout, ocr=getattr(args, "ocr", False), certs_dir=certs
    )


def cmd_demo(args: argparse.Namespace) -> int:
    return demo.run_demo(duration=args.duration, data_dir=args.data_dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="midas-edge", description="Border-post capture daemon and tools."
    )
    parser.add_argument("--version", action="version", version=f"midas-edge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="config file (default: $MIDAS_EDGE_CONFIG or /etc/...)")
        return p

    with_config(sub.add_parser("run", help="run the daemon")).set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="run the daemon on simulated devices, nothing to configure")
    demo.add_argument("--duration", type=float, default=None, help="seconds (default: until ^C)")
    demo.add_argument("--data-dir", type=Path, default=None, help="keep data here (default: temp)")
    demo.set_defaults(func=cmd_demo)

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = with_config(config_sub.add_parser("check", help="validate a config file"))
    check.add_argument("path", nargs="?", help="config file to check")
    check.set_defaults(func=cmd_config_check)

    sub.add_parser("schema", help="print the record JSON Schema").set_defaults(func=cmd_schema)

    parse_cmd = sub.add_parser("parse", help="parse documents from stdin into JSON lines")
    kinds = parse_cmd.add_subparsers(dest="kind", required=True, metavar="KIND")
    mrz = kinds.add_parser("mrz", help="ICAO 9303 MRZ; documents separated by a blank line")
    mrz.add_argument("--ocr", action="store_true", help="repair OCR errors proven by check digits")
    kinds.add_parser("bcbp", help="IATA boarding passes, one per line")
    vds = kinds.add_parser("vds", help="ICAO visible digital seals (hex or raw) and VDS-NC JSON")
    vds.add_argument("--certs", help="directory of signer certificates")
    parse_cmd.set_defaults(func=cmd_parse)

    recs = with_config(sub.add_parser("records", help="print stored records as JSON lines"))
    recs.add_argument("--after", type=int, default=0, help="only records after this sequence")
    recs.add_argument("--limit", type=int, default=100, help="at most this many")
    recs.set_defaults(func=cmd_records)

    box = with_config(sub.add_parser("outbox", help="per-sink backlog and dead letters"))
    outbox.add_arguments(box)
    box.set_defaults(func=cmd_outbox)

    devices = with_config(sub.add_parser("devices", help="configured devices and known drivers"))
    devices.add_argument(
        "--probe", action="store_true", help="check that each device answers (daemon stopped)"
    )
    devices.set_defaults(func=cmd_devices)

    alarms = with_config(sub.add_parser("alarms", help="active alarms; `ack CODE` acknowledges"))
    alarms_cli.add_arguments(alarms)
    alarms.set_defaults(func=cmd_alarms)

    sim = sub.add_parser("simulate", help="run one byte-level device simulator (technicians)")
    sim.add_argument(
        "profile", help="simulator profile (e.g. rte-native) or driver name (e.g. mrz-rte)"
    )
    sim.add_argument("--link", type=Path, help="stable path to create (like /dev/serial/by-id)")
    sim.add_argument("--socket", action="store_true", help="serve socket://127.0.0.1:PORT")
    sim.add_argument("--every", type=float, help="present a specimen every so many seconds")
    sim.set_defaults(func=cmd_simulate)
    add_receiver_command(sub)
    add_provisioning_commands(sub)
    add_alerts_command(sub)
    add_console_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except EdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return code


if __name__ == "__main__":
    sys.exit(main())
