"""`midas-edge console [--open]`: sign the officer console in without the token in any URL.

Reads the API token from the data dir, asks the running daemon for a one-time login code
(`POST /v1/console/login-code`, valid 30 s, usable once) and prints the sign-in address; with
`--open` it also opens it in the desktop's browser. The browser trades the code for a session
cookie, so the token itself never reaches the browser, its history or a referrer.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import webbrowser
from typing import TextIO

from edge.api.client import api_base, read_token
from edge.config import Config, load, resolve_path

EXIT_OK, EXIT_FAIL = 0, 1
API_TIMEOUT_S = 5.0


class ConsoleLoginError(Exception):
    """The daemon could not be asked for a login code; the message says why."""


def _api_base(config: Config) -> str:
    """The local API's address from `[api] listen`."""
    base = api_base(config)
    if base is None:
        raise ConsoleLoginError("[api] listen has port 0: the daemon's port is not known ahead")
    return base


def login_url(config: Config) -> tuple[str, float]:
    """A fresh sign-in address for the console and how many seconds it stays valid."""
    base = _api_base(config)
    try:
        token = read_token(config)
    except OSError as exc:
        raise ConsoleLoginError(
            f"the API token cannot be read ({exc.strerror}); run as the daemon's user"
        ) from None
    # An http:// URL on the loopback address of the config, never one given from outside.
    request = urllib.request.Request(  # noqa: S310
        base + "/v1/console/login-code",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_S) as response:  # noqa: S310
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        raise ConsoleLoginError(f"the daemon refused a login code (HTTP {exc.code})") from None
    except (OSError, ValueError) as exc:
        raise ConsoleLoginError(f"the daemon does not answer at {base} ({exc})") from None
    path, ttl = body.get("path"), body.get("expires_in")
    if not (isinstance(path, str) and path.startswith("/console/login?code=")):
        raise ConsoleLoginError("the daemon's answer holds no login code")
    return base + path, float(ttl) if isinstance(ttl, int | float) else 0.0


def run(config: Config, out: TextIO, *, open_browser: bool) -> int:
    try:
        url, ttl = login_url(config)
    except ConsoleLoginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(url, file=out)
    print(f"(valid for {ttl:.0f} s, once)", file=sys.stderr)
    if open_browser and not webbrowser.open(url):
        print("error: no browser could be opened; open the address above", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def cmd_console(args: argparse.Namespace) -> int:
    return run(load(resolve_path(args.config)), sys.stdout, open_browser=args.open)


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    console = sub.add_parser(
        "console", help="sign the officer console in (a one-time address, never the token)"
    )
    console.add_argument("--config", help="config file (default: $MIDAS_EDGE_CONFIG or /etc/...)")
    console.add_argument("--open", action="store_true", help="open it in the desktop's browser")
    console.set_defaults(func=cmd_console)
