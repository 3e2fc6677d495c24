"""Driver registry: drivers are found through the `midas_edge.drivers` entry-point group.

Entry points are read once and imported lazily, so a broken third-party driver only fails
the devices that use it. `register()` adds a driver class directly (embedding, tests).
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from drivers.base import Driver, DriverError

GROUP = "midas_edge.drivers"


class UnknownDriver(DriverError):
    """No driver of that name is installed."""


class DriverLoadError(DriverError):
    """A driver's entry point exists but its code cannot be imported."""


class Registry:
    """Name → driver class, from entry points plus explicit registrations."""

    def __init__(self) -> None:
        self._entry_points: dict[str, EntryPoint] | None = None
        self._loaded: dict[str, type[Driver]] = {}

    def _eps(self) -> dict[str, EntryPoint]:
        if self._entry_points is None:
            self._entry_points = {ep.name: ep for ep in entry_points(group=GROUP)}
        return self._entry_points

    def names(self) -> list[str]:
        """Every known driver name, sorted."""
        return sorted(set(self._eps()) | set(self._loaded))

    def register(self, name: str, cls: type[Driver]) -> None:
        self._loaded[name] = cls

    def get(self, name: str) -> type[Driver]:
        """The driver class for `name`, importing it on first use."""
        if name in self._loaded:
            return self._loaded[name]
        ep = self._eps().get(name)
        if ep is None:
            raise UnknownDriver(f"no driver named {name!r} (known: {', '.join(self.names())})")
        try:
            cls = ep.load()
        except Exception as exc:
            raise DriverLoadError(f"driver {name!r} cannot be imported: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, Driver)):
            raise DriverLoadError(f"entry point {name!r} does not name a Driver subclass")
        self._loaded[name] = cls
        return cls


default_registry = Registry()
