"""Byte-stream drivers: transport → framer → driver, and the base class of each device kind.

`StreamDriver` owns the lifecycle, the reader task, the idle timer, command replies and the
timeouts; a family fills in small hooks: `make_framer()`, `to_event()`, and optionally
`on_connected()` (enable the device), `on_data()` (acknowledge a read) and `command()`.
"""

from __future__ import annotations

import asyncio
import collections
from abc import abstractmethod
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from drivers.base import (
    Capture,
    CaptureKind,
    DeviceIdentity,
    DeviceKind,
    DeviceUnavailable,
    Driver,
    DriverError,
    Event,
    HealthState,
    Notice,
    ProtocolError,
    now_ms,
)
from drivers.framing import Frame, FrameKind, Framer
from drivers.options import Option, resolve
from drivers.transports import SerialSettings, Transport, open_transport

# Enabling a device after open must not take longer than this.
OPEN_TIMEOUT_S = 5.0
# A device that does not answer a command within this time did not take it.
COMMAND_TIMEOUT_S = 2.0
# Events waiting for the consumer; a full queue stops reading, so the device's own flow
# control (or the kernel buffer) holds the next reads back: nothing is dropped.
EVENT_QUEUE = 64
# Errors within this many reads that turn the device DEGRADED (and back READY after a good read).
DEGRADED_AFTER = 3
# probe(): how long one candidate setting may take, and how long a passive device is listened to.
PROBE_TIMEOUT_S = 3.0
PROBE_LISTEN_S = 1.0

SERIAL_OPTIONS = ("baudrate", "bytesize", "parity", "stopbits", "xonxoff", "rtscts")


def serial_options(defaults: SerialSettings) -> tuple[Option, ...]:
    """The line-setting options of a serial family, with the family's own defaults."""
    return (
        Option("baudrate", defaults.baudrate, "bits per second", minimum=50, maximum=4_000_000),
        Option("bytesize", defaults.bytesize, "data bits", choices=(5, 6, 7, 8)),
        Option("parity", defaults.parity, "parity", choices=("N", "E", "O", "M", "S")),
        Option("stopbits", float(defaults.stopbits), "stop bits", choices=(1.0, 1.5, 2.0)),
        Option("xonxoff", defaults.xonxoff, "software flow control"),
        Option("rtscts", defaults.rtscts, "hardware flow control"),
    )


class _End:
    """The end of `events()`: the error it raises."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class StreamDriver(Driver):
    """A device that speaks bytes over a serial port, a pty or a socket."""

    serial_defaults: ClassVar[SerialSettings] = SerialSettings()
    family_options: ClassVar[tuple[Option, ...]] = ()
    # Silence that ends a message without a trailer, and bounds a half-received frame.
    default_idle_timeout: ClassVar[float] = 0.1
    transport_kind: ClassVar[str] = "serial"

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, options)
        self.validate_options(self.options)  # the family's own checks too, naming the option
        self.settings = resolve(self.option_spec(), self.options)
        self.idle_timeout: float = self.settings["idle_timeout"]
        self._transport: Transport | None = None
        self._framer: Framer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Event | _End] = asyncio.Queue(EVENT_QUEUE)
        self._waiters: collections.deque[asyncio.Future[Frame]] = collections.deque()
        self._command_lock = asyncio.Lock()
        self._recent_errors = 0
        self.host_hints: dict[str, str] = {}

    # -- options ---------------------------------------------------------------------------

    @classmethod
    def option_spec(cls) -> tuple[Option, ...]:
        common = (
            Option(
                "idle_timeout",
                cls.default_idle_timeout,
                "seconds of silence that end a message",
                minimum=0.005,
                maximum=10.0,
            ),
        )
        serial = serial_options(cls.serial_defaults) if cls.transport_kind == "serial" else ()
        return common + serial + cls.family_options

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        resolve(cls.option_spec(), options)

    def serial_settings(self) -> SerialSettings:
        s = self.settings
        return SerialSettings(
            baudrate=s["baudrate"],
            bytesize=s["bytesize"],
            parity=s["parity"],
            stopbits=s["stopbits"] if s["stopbits"] != 1.0 else 1,
            xonxoff=s["xonxoff"],
            rtscts=s["rtscts"],
        )

    # -- hooks -----------------------------------------------------------------------------

    def make_transport(self) -> Transport:
        return open_transport(self.url, self.serial_settings())

    @abstractmethod
    def make_framer(self) -> Framer: ...

    @abstractmethod
    def to_event(self, frame: Frame) -> Event | None:
        """The event a DATA frame stands for (None to drop it silently, e.g. a keep-alive)."""

    async def on_connected(self) -> None:
        """Called once the transport is open and being read: enable the device, if needed."""

    async def on_data(self, frame: Frame) -> None:
        """Called after a DATA frame became an event: acknowledge it, if the device wants."""

    # -- probing ---------------------------------------------------------------------------

    @classmethod
    def probe_candidates(cls, options: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Option sets to try, most likely first (families add baud rates, framings)."""
        return [dict(options)]

    async def handshake(self) -> bool:
        """Whether the device on the other end speaks this family's protocol.

        The default suits devices that only talk when they read something: it listens for a
        well-formed read. Families with a query command override it with a real exchange.
        """
        try:
            async with asyncio.timeout(PROBE_LISTEN_S):
                async for event in self.events():
                    if isinstance(event, Capture):
                        return True
        except TimeoutError:
            pass
        return False

    @classmethod
    async def probe(cls, url: str, options: Mapping[str, Any] | None = None) -> bool:
        for candidate in cls.probe_candidates(options or {}):
            try:
                driver = cls(url, candidate)
            except ValueError:
                continue
            try:
                async with asyncio.timeout(PROBE_TIMEOUT_S):
                    await driver.open()
                    try:
                        if await driver.handshake():
                            return True
                    finally:
                        await driver.close()
            except (DriverError, TimeoutError):
                continue
        return False

    # -- lifecycle -------------------------------------------------------------------------

    def identify(self) -> DeviceIdentity:
        h = self.host_hints
        return DeviceIdentity(
            kind=self.kind,
            driver=self.name,
            transport=h.get("transport", self.transport_kind),
            vendor_id=h.get("vendor_id", ""),
            product_id=h.get("product_id", ""),
            serial=h.get("serial", ""),
            manufacturer=h.get("manufacturer", ""),
            product=h.get("product", ""),
            firmware=h.get("firmware", ""),
            node=h.get("node", self.url),
            stable_path=h.get("stable_path", ""),
        )

    def presence_path(self) -> str | None:
        return self.url if self.url.startswith("/") else None

    async def _open(self) -> None:
        transport = self.make_transport()
        await transport.open()
        self._transport = transport
        try:
            self.host_hints = transport.hints()
            self._framer = self.make_framer()
            self._queue = asyncio.Queue(EVENT_QUEUE)
            self._reader = asyncio.create_task(self._read_loop(), name=f"read:{self.url}")
            async with asyncio.timeout(OPEN_TIMEOUT_S):
                await self.on_connected()
        except TimeoutError:
            await self._close()
            raise DeviceUnavailable(f"{self.name}: the device did not get ready") from None
        except BaseException:
            await self._close()
            raise

    async def _close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(DeviceUnavailable("the device was closed"))
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()

    async def events(self) -> AsyncIterator[Event]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                self._queue.put_nowait(item)  # a later events() ends the same way, never hangs
                raise item.exc
            yield item

    # -- reading ---------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        transport, framer = self._transport, self._framer
        if transport is None or framer is None:
            raise DeviceUnavailable(f"{self.name}: the device is not open")
        try:
            while True:
                if framer.pending():
                    try:
                        async with asyncio.timeout(self.idle_timeout):
                            data = await transport.read()
                    except TimeoutError:
                        frames = framer.idle()
                    else:
                        frames = framer.feed(data)
                else:
                    frames = framer.feed(await transport.read())
                for frame in frames:
                    await self._dispatch(frame)
        except DriverError as exc:
            await self._queue.put(_End(exc))
        except OSError as exc:
            await self._queue.put(_End(DeviceUnavailable(f"{self.url}: {exc.strerror}")))
        except Exception as exc:  # a bug in a framer or hook: raised to the consumer, not a hang
            await self._queue.put(_End(exc))

    async def _dispatch(self, frame: Frame) -> None:
        if frame.kind is FrameKind.REPLY:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(frame)
                    return
            return  # a reply nobody waits for (its command timed out): nothing to do
        if frame.kind is FrameKind.ERROR:
            await self.notice(Notice(frame.error, frame.detail, frame.raw))
            return
        event = self.to_event(frame)
        if event is None:
            return
        if isinstance(event, Notice):
            await self.notice(event)
            return
        self.note_read()
        self._recent_errors = 0
        if self._health.state is HealthState.DEGRADED:
            self._set_state(HealthState.READY)
        await self._queue.put(event)
        await self.on_data(frame)

    async def notice(self, notice: Notice) -> None:
        """Report bad input from the device: counted, DEGRADED after a run of them, emitted."""
        self.note_error()
        self._recent_errors += 1
        if self._recent_errors >= DEGRADED_AFTER and self._health.state is HealthState.READY:
            self._set_state(HealthState.DEGRADED, f"{self._recent_errors} bad messages in a row")
        await self._queue.put(notice)

    # -- commands --------------------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        """Write bytes to the device."""
        if self._transport is None:
            raise DeviceUnavailable(f"{self.name}: the device is not open")
        await self._transport.write(data)

    async def request(self, data: bytes, wait: float = COMMAND_TIMEOUT_S) -> Frame:
        """Send a command and wait for the REPLY frame the framer finds for it."""
        async with self._command_lock:
            waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await self.send(data)
                async with asyncio.timeout(wait):
                    return await waiter
            except TimeoutError:
                raise ProtocolError(f"{self.name}: no reply within {wait:g} s") from None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)


class DocumentReader(StreamDriver):
    """Base of MRZ readers: a DATA frame's payload is MRZ lines."""

    kind: ClassVar[DeviceKind] = DeviceKind.MRZ_READER

    def mrz_lines(self, frame: Frame) -> list[str]:
        """The MRZ lines of a frame (families strip their own padding)."""
        text = frame.payload.decode("latin-1")
        return [line.strip() for line in text.replace("\r\n", "\r").split("\r") if line.strip()]

    def to_event(self, frame: Frame) -> Event | None:
        lines = self.mrz_lines(frame)
        if not lines:
            return Notice("empty_read", "the reader sent a read with no MRZ lines", frame.raw)
        return Capture(
            CaptureKind.DOCUMENT,
            frame.raw,
            now_ms(),
            text="\n".join(lines),
            meta=dict(frame.fields),
        )


class BarcodeScanner(StreamDriver):
    """Base of barcode scanners: a DATA frame's payload is the symbol's data."""

    kind: ClassVar[DeviceKind] = DeviceKind.BARCODE

    def to_event(self, frame: Frame) -> Event | None:
        if not frame.payload:
            return Notice("empty_read", "the scanner sent a read with no data", frame.raw)
        symbology = frame.fields.get("symbology", "unknown")
        return Capture(
            CaptureKind.BARCODE,
            frame.raw,
            now_ms(),
            text=printable_text(frame.payload),
            payload=frame.payload,
            symbology=symbology,
            meta=dict(frame.fields),
        )


def printable_text(data: bytes) -> str | None:
    """The payload as text for the officer's screen, when it is printable UTF-8 (else None)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\t\r\n" for c in text) else None
