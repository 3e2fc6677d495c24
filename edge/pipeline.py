"""Capture pipeline: bounded queue → normalize → blobs → store → publish after commit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec

from drivers.base import Capture
from edge import records
from edge.errors import CaptureRefused, EdgeError
from edge.events import Event, Hub
from edge.metrics import Metrics
from edge.normalize import Normalizer
from edge.records import BlobRef, DeviceRef, Record
from edge.store import Store

log = logging.getLogger("midas_edge.pipeline")


@dataclass(slots=True)
class _Item:
    device: DeviceRef
    capture: Capture
    done: asyncio.Future[Record]


class _Stop:
    pass


_STOP = _Stop()
_json = msgspec.json.Encoder()


class Pipeline:
    """Accepts captures from device tasks; each future resolves when its record is durable."""

    def __init__(
        self,
        store: Store,
        normalizer: Normalizer,
        hub: Hub,
        metrics: Metrics,
        queue_size: int,
        checker: Callable[[Record], Record] | None = None,
    ) -> None:
        self._store = store
        self._normalize = normalizer
        # Runs on each record before it is stored (the alert-list check): never raises.
        self._check = checker
        self._hub = hub
        self._metrics = metrics
        self._queue: asyncio.Queue[_Item | _Stop] = asyncio.Queue(maxsize=queue_size)
        self._closed = False
        self.busy_since: float | None = None
        store.on_commit(self._committed)

    def depth(self) -> int:
        return self._queue.qsize()

    async def submit(self, device: DeviceRef, capture: Capture) -> asyncio.Future[Record]:
        """Queue a capture (waiting while the queue is full); the future resolves on commit."""
        if self._closed:
            raise CaptureRefused("the daemon is shutting down")
        done: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Item(device, capture, done))
        self._metrics.queue_depth.set(self._queue.qsize())
        return done

    async def close(self) -> None:
        """Refuse new captures; `run()` returns once everything queued reached the store."""
        if not self._closed:
            self._closed = True
            await self._queue.put(_STOP)

    async def run(self) -> None:
        while True:
            item = await self._queue.get()
            self._metrics.queue_depth.set(self._queue.qsize())
            if isinstance(item, _Stop):
                return
            self.busy_since = time.monotonic()
            try:
                await self._process(item)
            finally:
                self.busy_since = None

    async def _process(self, item: _Item) -> None:
        refs: list[BlobRef] = []
        try:
            record = self._normalize(item.capture, item.device)
            if self._check is not None:
                record = self._check(record)
            for media_type, data in item.capture.images:
                refs.append(await self._store.put_blob(data, media_type, role="image"))
            if refs:
                record = msgspec.structs.replace(record, blobs=refs)
            stored = await self._store.append(record)
        except EdgeError as exc:
            # The record never reached the writer: its blobs are no longer held for it.
            self._store.release_blobs(refs)
            self._refuse(item, exc)
            return
        except BaseException:
            self._store.release_blobs(refs)
            raise
        stored.add_done_callback(lambda fut: self._settle(item, fut))

    def _settle(self, item: _Item, stored: asyncio.Future[Record]) -> None:
        if item.done.done():
            return
        if stored.cancelled():
            self._refuse(item, CaptureRefused("the store stopped before the commit"))
            return
        exc = stored.exception()
        if exc is not None:
            self._refuse(item, exc)
        else:
            item.done.set_result(stored.result())

    def _refuse(self, item: _Item, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        self._metrics.refused.labels(device=item.device.name, reason=reason).inc()
        log.error("capture refused", extra={"device": item.device.name, "reason": reason})
        self._hub.publish(
            Event(
                "capture_refused",
                _json.encode(
                    {
                        "device": item.device.name,
                        "reason": reason,
                        "captured_at": records.utc_timestamp(item.capture.captured_at_ms),
                    }
                ),
            )
        )
        if not item.done.done():
            item.done.set_exception(exc)

    def _committed(
        self, committed: Sequence[Record], bodies: Sequence[bytes], seconds: float
    ) -> None:
        self._metrics.commit_latency.observe(seconds)
        self._metrics.commit_batch.observe(len(committed))
        for record, body in zip(committed, bodies, strict=True):
            self._metrics.captures.labels(device=record.device.name, kind=record.kind).inc()
            log.info(
                "record committed",
                extra={"record_id": record.id, "seq": record.seq, "device": record.device.name},
            )
            self._hub.publish(Event("record", body, record.seq))
        self._metrics.last_seq.set(committed[-1].seq)
        self._metrics.writer_depth.set(self._store.writer.depth())
