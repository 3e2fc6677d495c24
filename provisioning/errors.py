"""Error root of the technician tooling.

ProvisioningError
├── CatalogError   the device catalog data is malformed (a bad entry names its index and key)
├── UnitError      a config value cannot go into the systemd units (path, address, device)
└── RuleError      a value cannot go into a udev rule (ids, serials, names, groups)

Messages name the offending key or value; never personal data (devices carry none).
"""

from __future__ import annotations


class ProvisioningError(Exception):
    """Root of every error raised by the provisioning tools."""


class CatalogError(ProvisioningError):
    """The device catalog cannot be loaded."""


class UnitError(ProvisioningError):
    """The systemd units cannot be rendered for this config."""


class RuleError(ProvisioningError):
    """A udev rule cannot be rendered from these values."""
