"""systemd notify protocol (READY, STOPPING, STATUS, WATCHDOG) without libsystemd."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("midas_edge.notify")

# A probe returns None when its component makes progress, else why it does not.
Probe = Callable[[], str | None]


class Notifier:
    """Sends datagrams to $NOTIFY_SOCKET; does nothing when the variable is unset."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self._address = address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        wanted = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_s: float | None = int(usec) / 1_000_000 if wanted else None
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, *lines: str) -> None:
        if not self._address:
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)
        try:
            self._sock.sendto("\n".join(lines).encode(), self._address)
        except OSError as exc:
            log.warning("notify socket send failed", extra={"error": exc.strerror})

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


async def watchdog(notifier: Notifier, probes: Mapping[str, Probe]) -> None:
    """Send WATCHDOG=1 every half period while every probe reports progress.

    A blocked event loop sends nothing (this coroutine cannot run), so systemd restarts us.
    """
    if notifier.watchdog_s is None:
        return
    period = notifier.watchdog_s / 2
    withheld: str | None = None
    while True:
        problems = [
            f"{name}: {why}" for name, probe in probes.items() if (why := probe()) is not None
        ]
        if problems:
            if withheld is None:
                log.error("watchdog withheld", extra={"detail": "; ".join(problems)})
            withheld = "; ".join(problems)
        else:
            if withheld is not None:
                log.warning("watchdog resumed")
            withheld = None
            notifier.send("WATCHDOG=1")
        await asyncio.sleep(period)


def stuck_probe(busy_since: Callable[[], float | None], limit_s: float) -> Probe:
    """A probe that fails when a component has been busy on one item for over `limit_s`."""

    def probe() -> str | None:
        since = busy_since()
        if since is not None and time.monotonic() - since > limit_s:
            return f"busy for {time.monotonic() - since:.1f} s"
        return None

    return probe
