"""`midas-edge alarms [ack CODE]`: the running daemon's active alarms, and acknowledging one.

Alarms of conditions (a full disk, a sink behind) clear by themselves when the condition ends;
alarms of events (a late alert hit, records lost on a share) stay until someone acknowledges
them, on the console or here. Codes and messages carry no personal data.
"""

from __future__ import annotations

import argparse
import urllib.parse
from typing import TextIO

from edge.api.client import call_json
from edge.config import Config

EXIT_OK, EXIT_FAIL = 0, 1
NOT_RUNNING = (
    "the daemon does not answer on its local API (is it running? may this user read its token?)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="alarms_action", metavar="ACTION")
    ack = actions.add_parser("ack", help="acknowledge an alarm that waits for it")
    ack.add_argument("code", help="the alarm's code, as listed (e.g. share_lost:nas)")


def run(config: Config, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if getattr(args, "alarms_action", None) == "ack":
        return acknowledge(config, args.code, out, err)
    return show(config, out, err)


def show(config: Config, out: TextIO, err: TextIO) -> int:
    """List the active alarms; exit 1 only when the daemon cannot be asked."""
    answer = call_json(config, "/v1/health")
    if answer is None or answer[0] != 200:
        print(NOT_RUNNING, file=err)
        return EXIT_FAIL
    alarms = answer[1].get("alarms") or []
    if not alarms:
        print("no active alarms", file=out)
    for alarm in alarms:
        wait = " (waits for an acknowledgement)" if alarm.get("ack_required") else ""
        print(f"{alarm['raised_at']}  {alarm['code']}{wait}: {alarm['message']}", file=out)
    return EXIT_OK


def acknowledge(config: Config, code: str, out: TextIO, err: TextIO) -> int:
    path = "/v1/alarms/" + urllib.parse.quote(code, safe=":") + "/ack"
    answer = call_json(config, path, method="POST")
    if answer is None:
        print(NOT_RUNNING, file=err)
        return EXIT_FAIL
    status = answer[0]
    if status == 200:
        print(f"{code}: acknowledged", file=out)
        return EXIT_OK
    if status == 409:
        print(f"{code}: clears by itself once its condition ends; nothing to acknowledge", file=err)
    elif status == 404:
        print(f"{code}: no such active alarm", file=err)
    else:
        print(f"{code}: the daemon answered HTTP {status}", file=err)
    return EXIT_FAIL
