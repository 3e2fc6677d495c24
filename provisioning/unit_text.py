"""The texts of the service unit, the sysusers and the tmpfiles snippets (rendered by units.py)."""

from __future__ import annotations

from collections.abc import Iterable

from provisioning.system import CLASS_INFO, SERVICE_GROUP, SERVICE_USER, DeviceClass

MODULES = sorted({m for info in CLASS_INFO.values() if (m := info.module) is not None})
# The base unit's classes: every USB one. On-board serial ports share their major number with
# the virtual consoles (char-ttyS is major 4, tty0-63 too): only a drop-in adds them, for a
# config that uses one.
BASE_CLASSES = [c for c in DeviceClass if c is not DeviceClass.TTY_S]
MODPROBE_UNITS = " ".join(f"modprobe@{module}.service" for module in MODULES)


def device_allow(classes: Iterable[DeviceClass]) -> str:
    """`DeviceAllow=` lines for these classes, in a stable order."""
    order = list(DeviceClass)
    return "".join(
        f"DeviceAllow=char-{c.value} {CLASS_INFO[c].access}\n"
        for c in sorted(classes, key=order.index)
    )


# Placeholders: {executable} and {config}. Every other value is fixed.
SERVICE = f"""\
# midas-edge: the border-post capture daemon.
# Installed by `midas-edge provision`; what depends on the workstation's config (NAS mounts,
# the device classes in use) lives in midas-edge.service.d/50-workstation.conf.

[Unit]
Description=midas-edge border-post capture daemon
After=network.target time-sync.target
# DeviceAllow=char-<group> drops a group the kernel does not know when the unit starts: load
# the modules that register them first, or a USB serial reader plugged in later stays denied.
Wants={MODPROBE_UNITS}
After={MODPROBE_UNITS}
# A daemon that keeps failing is left stopped; `midas-edge doctor` shows why.
StartLimitIntervalSec=600
StartLimitBurst=10

[Service]
Type=notify
NotifyAccess=main
ExecStart={{executable}} run --config {{config}}
# READY=1 follows the store's integrity check, which grows with the database.
TimeoutStartSec=300
# Captures in flight are made durable before the daemon exits.
TimeoutStopSec=30
# The daemon pings every WatchdogSec/2 and stops pinging while its store writer, pipeline or
# device supervisors are stuck.
WatchdogSec=30
Restart=on-failure
RestartSec=5
# A usage error means the unit itself is wrong: restarting cannot help.
RestartPreventExitStatus=2
User={SERVICE_USER}
Group={SERVICE_GROUP}
UMask=0077
StateDirectory=midas-edge
StateDirectoryMode=0700
ConfigurationDirectory=midas-edge
ConfigurationDirectoryMode=0750

# Devices: only these classes, and of those only the nodes udev gives to the service group.
# Hot-plugged nodes need class entries (a path is resolved once, at start); PrivateDevices=
# would hide the readers.
DevicePolicy=closed
{device_allow(BASE_CLASSES)}
# File system: read-only but for the state directory (and the drop-in's NAS mounts).
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateMounts=yes
ProtectProc=invisible
ProcSubset=pid
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes

# Privileges: none to gain, none to keep.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictRealtime=yes
RestrictNamespaces=yes
RemoveIPC=yes
PrivateIPC=yes
KeyringMode=private

# Sockets: the loopback API and the regional servers (AF_INET, AF_INET6), the journal, the
# notify socket and pcscd (AF_UNIX), udev hotplug events (AF_NETLINK).
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
"""

SYSUSERS = f"""\
# The service account of midas-edge. The udev rules give the matched readers, scanners and
# cameras to its group, so it needs no dialout, input, video or plugdev membership.
u {SERVICE_USER} - "midas-edge capture daemon" /var/lib/midas-edge /usr/sbin/nologin
"""

TMPFILES = f"""\
# The config and the workstation's keys: readable by the service group, writable by root only.
d /etc/midas-edge 0750 root {SERVICE_GROUP} -
"""
