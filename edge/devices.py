"""Device supervision: one task per device, reconnect with backoff, restart-intensity limit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

import msgspec

from drivers.backoff import Backoff
from drivers.base import DeviceUnavailable, Driver, DriverError, Health, HealthState, Notice
from drivers.registry import Registry
from edge.alarms import Alarms
from edge.config import Config, DeviceConfig, SupervisionConfig
from edge.errors import CaptureRefused, ConfigError
from edge.events import Event, Hub
from edge.hotplug import Hotplug, node_id
from edge.metrics import Metrics
from edge.pipeline import Pipeline
from edge.records import DeviceRef, Record

log = logging.getLogger("midas_edge.devices")


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
        policy: SupervisionConfig,
        hotplug: Hotplug | None = None,
    ) -> None:
        self.config = config
        self._hotplug = hotplug
        self._presence: str | None = None
        self._factory = driver_factory
        self._pipeline = pipeline
        self._hub = hub
        self._alarms = alarms
        self._metrics = metrics
        self._backoff = Backoff(base=policy.backoff_base, cap=policy.backoff_cap)
        self._policy = policy
        self._restarts: deque[float] = deque()
        self.health = Health()
        self.identity: dict[str, str] = {}
        self.driver_name = config.driver
        # The open driver while the device is connected (cameras lend it their frames).
        self.driver: Driver | None = None
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
                    connected = await self._session()
                except CaptureRefused:
                    return
                if connected:
                    # Only a device that was up and went down counts towards flapping; one
                    # that is simply not plugged in is ABSENT, not failing.
                    self._note_restart()
                    self._metrics.device_restarts.labels(device=self.config.name).inc()
                await self._wait_before_retry(connected)
        finally:
            if self.health.state is not HealthState.FAILED:
                self._set_state(HealthState.ABSENT, "stopped")

    async def _wait_before_retry(self, connected: bool) -> None:
        delay = self._backoff.next_delay()
        if self._hotplug is None:
            await asyncio.sleep(delay)
            return
        path = self._presence
        if path is not None and node_id(path) is None:
            # Unplugged: nothing to retry until the node is back (udev or the path poll says
            # so), re-checked at the backoff cap in case the watch misses it.
            if self.health.state is not HealthState.FAILED:
                self._set_state(HealthState.ABSENT, "waiting for the device to be plugged in")
            delay = self._policy.backoff_cap
        if await self._hotplug.wait(path, delay):
            log.info("device plugged in", extra={"device": self.config.name})

    def _stable(self) -> None:
        """Connected long enough without a failure: forget past restarts."""
        self._backoff.reset()
        self._restarts.clear()
        if self._alarms.is_active(self.alarm_code):
            self._alarms.clear(self.alarm_code)

    async def _session(self) -> bool:
        """One open → read → failure cycle; whether the device was connected at all."""
        connected = False
        stable_timer: asyncio.TimerHandle | None = None
        self._set_state(HealthState.OPENING)
        try:
            driver = self._factory()
            self._presence = driver.presence_path()
            async with driver:
                connected = True
                self.driver = driver
                self.identity = driver.identify().as_dict()
                self._set_state(HealthState.READY)
                loop = asyncio.get_running_loop()
                stable_timer = loop.call_later(self._policy.stable_after, self._stable)
                device = DeviceRef(self.config.name, self.config.driver, self.identity)
                async for event in driver.events():
                    self.health.last_event_at = time.monotonic()
                    if isinstance(event, Notice):
                        self._notice(event)
                    else:
                        self.health.reads += 1
                        outcome = await self._pipeline.submit(device, event)
                        outcome.add_done_callback(_observe)
                    self._follow(driver.health().state)
            self._failed("the device closed its stream")
        except (CaptureRefused, asyncio.CancelledError):
            raise
        except DeviceUnavailable as exc:
            self._failed(str(exc) or type(exc).__name__, absent=not connected)
        except DriverError as exc:
            self._failed(str(exc) or type(exc).__name__)
        except Exception as exc:
            log.exception("device driver crashed", extra={"device": self.config.name})
            self._failed(f"driver crashed: {type(exc).__name__}")
        finally:
            self.driver = None
            if stable_timer is not None:
                stable_timer.cancel()
        return connected

    def _notice(self, notice: Notice) -> None:
        """Bad input from the device: counted, logged and shown, never quoting its bytes."""
        self.health.errors += 1
        self._metrics.device_errors.labels(device=self.config.name, code=notice.code).inc()
        log.warning(
            "device sent bad input",
            extra={
                "device": self.config.name,
                "code": notice.code,
                "detail": notice.message,
                "bytes": len(notice.raw),
            },
        )
        body = {
            "device": self.config.name,
            "code": notice.code,
            "message": notice.message,
            "bytes": len(notice.raw),
        }
        self._hub.publish(Event("device_error", _json.encode(body)))

    def _follow(self, driver_state: HealthState) -> None:
        """Mirror the driver's own READY/DEGRADED judgement while connected."""
        if self.health.state is HealthState.FAILED:
            return
        if driver_state in (HealthState.READY, HealthState.DEGRADED):
            detail = "" if driver_state is HealthState.READY else "bad messages from the device"
            if driver_state is not self.health.state:
                self._set_state(driver_state, detail)

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
        window, limit = self._policy.restart_window, self._policy.restart_limit
        while self._restarts and now - self._restarts[0] > window:
            self._restarts.popleft()
        if len(self._restarts) >= limit and self.health.state is not HealthState.FAILED:
            # A device restarted this often is FAILED, and is still retried at the backoff
            # cap so that a replugged device comes back by itself.
            detail = f"{len(self._restarts)} restarts within {window:g} s"
            self._set_state(HealthState.FAILED, detail)
            self._alarms.raise_(self.alarm_code, f"device {self.config.name} failed: {detail}")
            # From now on retry at the cap: a flapping device must not spin.
            self._backoff.attempt = 64


def _observe(outcome: asyncio.Future[Record]) -> None:
    """Retrieve a capture's outcome: the pipeline already reported a refusal loudly."""
    if not outcome.cancelled():
        outcome.exception()


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
