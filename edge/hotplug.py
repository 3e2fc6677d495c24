"""Hotplug: wake a waiting device supervisor as soon as its device node (re)appears.

A udev monitor (pyudev, where installed and a udev daemon runs) wakes waiters at once; a
cheap poll of the waiting devices' stable paths covers machines without one. Only devices
that are down are watched, so an idle daemon does no work here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

log = logging.getLogger("midas_edge.hotplug")

# Stat of a few paths every 0.1 s while a device is down: negligible, and well inside the 2 s
# a technician waits for a replugged reader.
POLL_INTERVAL_S = 0.1
UDEV_SUBSYSTEMS = ("tty", "input", "hidraw", "usb", "video4linux")

NodeId = tuple[int, int, int]


def node_id(path: str) -> NodeId | None:
    """What `path` points to now (device, inode, rdev), or None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_rdev)


class Hotplug:
    """Shared by every supervisor; `start()` attaches the udev monitor if there is one."""

    def __init__(self, poll_interval: float = POLL_INTERVAL_S) -> None:
        self.poll_interval = poll_interval
        self._kick = asyncio.Event()
        self._monitor: Any = None
        self.source = "poll"

    def start(self) -> None:
        try:
            import pyudev  # noqa: PLC0415  # optional: only where installed

            context = pyudev.Context()
            monitor = pyudev.Monitor.from_netlink(context, source="udev")
            for subsystem in UDEV_SUBSYSTEMS:
                monitor.filter_by(subsystem)
            monitor.start()
        except Exception as exc:  # no pyudev, no libudev, no netlink: polling covers it
            log.debug("udev monitor unavailable", extra={"reason": type(exc).__name__})
            return
        self._monitor = monitor
        asyncio.get_running_loop().add_reader(monitor.fileno(), self._on_udev)
        self.source = "udev+poll"

    def stop(self) -> None:
        if self._monitor is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._monitor.fileno())
            self._monitor = None

    def _on_udev(self) -> None:
        monitor = self._monitor
        while monitor is not None and monitor.poll(timeout=0) is not None:
            pass  # drain; every waiter re-checks its own path
        self._kick.set()
        self._kick = asyncio.Event()

    async def wait(self, path: str | None, up_to: float) -> bool:
        """Sleep up to `up_to` s; True as soon as `path` appears or points to a new node."""
        if path is None:
            await asyncio.sleep(up_to)
            return False
        before = node_id(path)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + up_to
        while (remaining := deadline - loop.time()) > 0:
            kick = self._kick
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(self.poll_interval, remaining)):
                    await kick.wait()
            now = node_id(path)
            if now is not None and now != before:
                return True
        return False
