"""Device supervision: one task per device, reconnect with backoff, restart-intensity limit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

import msgspec

from drivers.backoff import Backoff
from drivers.base import DeviceUnavailable, Driver, DriverError, Health, HealthState
from drivers.registry import Registry
from edge.alarms import Alarms
from edge.config import Config, DeviceConfig
from edge.errors import CaptureRefused, ConfigError
from edge.events import Event, Hub
from edge.metrics import Metrics
from edge.pipeline import Pipeline
from edge.records import DeviceRef

log = logging.getLogger("midas_edge.devices")

# A device restarted this many times within the window is FAILED (and keeps being retried
# at the backoff cap, so a replugged device comes back by itself).
RESTART_LIMIT = 5
RESTART_WINDOW_S = 60.0
# Connected this long without an error: the next failure starts the backoff from the base.
STABLE_AFTER_S = 10.0

_json = msgspec.json.Encoder()


class DeviceSupervisor:
    """Runs one device forever: open, read captures into the pipeline, recover from failures."""

    def __init__(
        self,
        config: DeviceConfig,
        driver_factory: Callable[[], Driver],
        pipeline: Pipeline,
        hub: Hub,
        alarms: Alarms,
        metrics: Metrics,
        backoff: Backoff | None = None,
    ) -> None:
        self.config = config
        self._factory = driver_factory
        self._pipeline = pipeline
        self._hub = hub
        self._alarms = alarms
        self._metrics = metrics
        self._backoff = backoff or Backoff(base=0.2, cap=30.0)
        self._restarts: deque[float] = deque()
        self.health = Health()
        self.identity: dict[str, str] = {}
        self.driver_name = config.driver
        self._metrics.devices.labels(state=self.health.state.value).inc()

    @property
    def alarm_code(self) -> str:
        return f"device_failed:{self.config.name}"

    def snapshot(self) -> dict[str, object]:
        """The device as the API shows it (no personal data)."""
        return {
            "name": self.config.name,
            "driver": self.config.driver,
            "url": self.config.url,
            "state": self.health.state.value,
            "detail": self.health.detail,
            "reads": self.health.reads,
            "errors": self.health.errors,
            "reconnects": self.health.reconnects,
            "identity": self.identity,
        }

    def _set_state(self, state: HealthState, detail: str = "") -> None:
        previous = self.health.state
        self.health.detail = detail
        if state is previous:
            return
        self.health.state = state
        self.health.since = time.monotonic()
        self._metrics.devices.labels(state=previous.value).dec()
        self._metrics.devices.labels(state=state.value).inc()
        log.info(
            "device state",
            extra={"device": self.config.name, "state": state.value, "detail": detail},
        )
        self._hub.publish(Event("device", _json.encode(self.snapshot())))

    async def run(self) -> None:
        """Supervise until cancelled, or until the pipeline refuses captures (shutdown)."""
        try:
            while True:
                try:
                    connected_at = await self._session()
                except CaptureRefused:
                    return
                stable = connected_at is not None and (
                    time.monotonic() - connected_at >= STABLE_AFTER_S
                )
                if stable:
                    self._backoff.reset()
                self._note_restart()
                delay = self._backoff.next_delay()
                self._metrics.device_restarts.labels(device=self.config.name).inc()
                await asyncio.sleep(delay)
        finally:
            if self.health.state is not HealthState.FAILED:
                self._set_state(HealthState.ABSENT, "stopped")

    async def _session(self) -> float | None:
        """One open → read → failure cycle; returns when it connected, None if it never did."""
        connected_at: float | None = None
        self._set_state(HealthState.OPENING)
        try:
            driver = self._factory()
            async with driver:
                connected_at = time.monotonic()
                self.identity = driver.identify().as_dict()
                self._set_state(HealthState.READY)
                if self.health.reconnects and self._alarms.is_active(self.alarm_code):
                    self._alarms.clear(self.alarm_code)
                async for capture in driver.captures():
                    self.health.reads += 1
                    self.health.last_event_at = time.monotonic()
                    device = DeviceRef(self.config.name, self.config.driver, self.identity)
                    await self._pipeline.submit(device, capture)
            self._failed("the device closed its stream")
        except (CaptureRefused, asyncio.CancelledError):
            raise
        except DeviceUnavailable as exc:
            absent = connected_at is None
            self._failed(str(exc) or type(exc).__name__, absent=absent)
        except DriverError as exc:
            self._failed(str(exc) or type(exc).__name__)
        except Exception as exc:
            log.exception("device driver crashed", extra={"device": self.config.name})
            self._failed(f"driver crashed: {type(exc).__name__}")
        return connected_at

    def _failed(self, detail: str, *, absent: bool = False) -> None:
        self.health.errors += 1
        log.warning("device failure", extra={"device": self.config.name, "detail": detail})
        if self.health.state is not HealthState.FAILED:
            self._set_state(HealthState.ABSENT if absent else HealthState.DEGRADED, detail)
        else:
            self.health.detail = detail

    def _note_restart(self) -> None:
        now = time.monotonic()
        self.health.reconnects += 1
        self._restarts.append(now)
        while self._restarts and now - self._restarts[0] > RESTART_WINDOW_S:
            self._restarts.popleft()
        if len(self._restarts) >= RESTART_LIMIT and self.health.state is not HealthState.FAILED:
            detail = f"{len(self._restarts)} restarts within {RESTART_WINDOW_S:.0f} s"
            self._set_state(HealthState.FAILED, detail)
            self._alarms.raise_(self.alarm_code, f"device {self.config.name} failed: {detail}")
            # From now on retry at the cap: a flapping device must not spin.
            self._backoff.attempt = 64


def resolve_drivers(config: Config, registry: Registry, source: str) -> dict[str, type[Driver]]:
    """The driver class of every enabled device, options checked; ConfigError otherwise."""
    classes: dict[str, type[Driver]] = {}
    for index, device in enumerate(config.devices):
        if not device.enabled:
            continue
        try:
            cls = registry.get(device.driver)
        except DriverError as exc:
            raise ConfigError(source, f"devices[{index}].driver", str(exc)) from None
        try:
            cls.validate_options(device.options)
        except ValueError as exc:
            raise ConfigError(source, f"devices[{index}].options", str(exc)) from None
        classes[device.name] = cls
    return classes
