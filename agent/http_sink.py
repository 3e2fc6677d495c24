"""The regional-server sink: gzip JSON batches (`edge.wire`) over HTTP(S), receipts per record.

Blobs go first (`HEAD` to skip the ones the server has, then `PUT`), then the batch. Answers:

    200 + receipts        stored/duplicate -> delivered (receipt JSON); rejected -> rejected
    413                   BatchTooLarge (the scheduler halves the batch)
    429, 503              TransientError, no earlier than Retry-After (seconds or HTTP date)
    other 5xx, timeouts   TransientError
    400, 401, 403, 404,   SinkUnavailable: the server refuses the whole exchange (version
    405, 415              mismatch, workstation not trusted yet): the records are not at fault
                          and must not become dead letters; provisioning fixes trust
    connection refused,   SinkUnavailable
    TLS failures

A record left without a receipt is retried. Logs name sinks, counts and seqs, never bodies.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import io
import logging
import math
import re
import ssl
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import msgspec

from agent.sink import (
    BatchTooLarge,
    BlobFile,
    Delivery,
    Outcome,
    Outgoing,
    Sink,
    SinkConfigError,
    SinkUnavailable,
    TransientError,
)
from edge.config import SinkConfig
from edge.wire import (
    CONTENT_TYPE,
    FORMAT,
    MAX_BATCH_BYTES,
    VERSION,
    Batch,
    Receipt,
    Status,
    WireRecord,
    batch_encoder,
    receipts_decoder,
)

log = logging.getLogger("midas_edge.forwarding.http")

GZIP_LEVEL = 1  # level 3 is ~0.16% smaller for ~4% more CPU on a 1000-record batch
INLINE_GZIP_BYTES = 256 * 1024  # larger payloads are compressed in a worker thread
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # receipts of the largest batch fit well below this
MAX_RETRY_AFTER_S = 24 * 3600.0  # a server asking for more is not believed
CONNECTOR_LIMIT = 4
_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
_receipt_json = msgspec.json.Encoder()
_error_decoder = msgspec.json.Decoder(dict[str, str])


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT; a naive one is taken as such
            return None
        seconds = when.timestamp() - now
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def tls_context(config: SinkConfig) -> ssl.SSLContext | None:
    """The pinned CA (only that CA; host names checked) and the client certificate, if any."""
    if config.ca is None and config.cert is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies and checks host names
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if config.ca is not None:
            context.load_verify_locations(cafile=config.ca)
        else:
            context.load_default_certs()
    except (OSError, ssl.SSLError) as exc:
        raise SinkConfigError(f"sink {config.name}: cannot load the CA {config.ca}") from exc
    if config.cert is not None:
        try:
            context.load_cert_chain(config.cert, config.key)
        except (OSError, ssl.SSLError) as exc:
            raise SinkConfigError(
                f"sink {config.name}: cannot load the client certificate {config.cert}"
            ) from exc
    return context


def _code(text: str, default: str) -> str:
    """A server's reason code, if it looks like one (it is logged and stored)."""
    return text if _CODE.match(text) else default


class HttpSink(Sink):
    """Sends batches to a regional receiver's `POST /v1/batches` with one client session."""

    def __init__(self, config: SinkConfig, workstation: str, key_id: str) -> None:
        super().__init__(config.name)
        self.base = config.target.rstrip("/")
        self.workstation = workstation
        self.key_id = key_id
        # Reads the CA and certificate files now, so a bad one fails at start, not at send.
        self._ssl = tls_context(config)
        self._timeout = aiohttp.ClientTimeout(
            total=config.timeout,
            connect=config.timeout,
            sock_connect=config.timeout,
            sock_read=config.timeout,
        )
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                ssl=self._ssl if self._ssl is not None else True, limit=CONNECTOR_LIMIT
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, raise_for_status=False
            )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        session = self._session
        if session is None:
            raise SinkUnavailable(f"sink {self.name} is not open")
        answers: dict[int, Delivery] = {}
        ready = []
        for out in batch:
            try:
                ready.append((out, out.body.decode("utf-8")))
            except UnicodeDecodeError:
                answers[out.seq] = Delivery(out.seq, Outcome.REJECTED, reason="body_not_utf8")
        bad_blobs = await self._upload_blobs(session, [o for o, _ in ready])
        records = []
        for out, body in ready:
            if out.blobs and bad_blobs:  # most records have no blob: no generator for them
                failed = next((bad_blobs[b.sha256] for b in out.blobs if b.sha256 in bad_blobs), "")
                if failed:
                    answers[out.seq] = Delivery(out.seq, Outcome.REJECTED, reason=failed)
                    continue
            records.append(
                WireRecord(out.seq, out.id, body, out.prev.hex(), out.hash.hex(), out.sig.hex())
            )
        if records:
            # The key that sealed these records (the scheduler never mixes keys in a batch).
            key = batch[0].key_id or self.key_id
            wire = Batch(FORMAT, VERSION, self.workstation, key, records)
            for receipt in await self._post(session, wire):
                answers[receipt.seq] = _delivery(receipt)
        return [answers[out.seq] for out in batch if out.seq in answers]

    async def _post(self, session: aiohttp.ClientSession, wire: Batch) -> list[Receipt]:
        raw = batch_encoder.encode(wire)
        if len(raw) > INLINE_GZIP_BYTES:
            data = await asyncio.to_thread(gzip.compress, raw, GZIP_LEVEL)
        else:
            data = gzip.compress(raw, GZIP_LEVEL)
        headers = {"Content-Type": CONTENT_TYPE, "Content-Encoding": "gzip"}
        ids = {r.id: r.seq for r in wire.records}
        try:
            # A stream, not bytes: aiohttp warns on bytes bodies above 1 MiB.
            body = io.BytesIO(data)
            async with session.post(f"{self.base}/v1/batches", data=body, headers=headers) as resp:
                answer = await _read(resp)
                self._check(resp, answer, f"batch of {len(wire.records)}")
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            raise _translate(self.name, exc) from exc
        try:
            receipts = receipts_decoder.decode(answer).receipts
        except msgspec.DecodeError as exc:
            raise TransientError(f"sink {self.name}: the server's receipts do not decode") from exc
        # Only receipts that name a record of this batch count; the rest are left to retry.
        return [r for r in receipts if ids.get(r.id) == r.seq]

    def _check(self, resp: aiohttp.ClientResponse, answer: bytes, what: str) -> None:
        """Raise the sink error an unsuccessful answer means."""
        status = resp.status
        if 200 <= status < 300:
            return
        try:
            reason = _code(_error_decoder.decode(answer).get("error", ""), "")
        except msgspec.DecodeError:
            reason = ""
        text = f"sink {self.name}: {what}: HTTP {status}{f' {reason}' if reason else ''}"
        log.warning("%s", text)
        if status == 413:
            raise BatchTooLarge(text)
        if status in (429, 503):
            after = parse_retry_after(resp.headers.get("Retry-After"), time.time())
            raise TransientError(text, retry_after=after)
        if status in (400, 401, 403, 404, 405, 415):
            kind = "bad request" if status == 400 else "refused"
            raise SinkUnavailable(f"{text} ({kind})")
        raise TransientError(text)

    async def _upload_blobs(
        self, session: aiohttp.ClientSession, batch: Sequence[Outgoing]
    ) -> dict[str, str]:
        """Put every blob of the batch the server lacks; digests that cannot go, with why."""
        bad: dict[str, str] = {}
        seen: set[str] = set()
        for blob in (b for out in batch for b in out.blobs):
            if blob.sha256 in seen:
                continue
            seen.add(blob.sha256)
            url = f"{self.base}/v1/blobs/{blob.sha256}"
            try:
                async with session.head(url) as resp:
                    if resp.status == 200:
                        continue
                    if resp.status != 404:
                        self._check(resp, await _read(resp), f"blob {blob.sha256[:12]}")
                data = await _blob_bytes(blob)
                if data is None:
                    bad[blob.sha256] = "blob_missing"
                    continue
                async with session.put(url, data=io.BytesIO(data)) as resp:
                    answer = await _read(resp)
                    if resp.status == 400:  # the file does not match its digest
                        bad[blob.sha256] = "blob_corrupt"
                        continue
                    self._check(resp, answer, f"blob {blob.sha256[:12]}")
            except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
                raise _translate(self.name, exc) from exc
        return bad


async def _blob_bytes(blob: BlobFile) -> bytes | None:
    """A blob's bytes, or None when the file is gone or too large to ever be accepted."""
    try:
        data = await asyncio.to_thread(Path(blob.path).read_bytes)
    except FileNotFoundError:
        return None
    return data if len(data) <= MAX_BATCH_BYTES else None


async def _read(resp: aiohttp.ClientResponse) -> bytes:
    chunks = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise TransientError("the server's answer is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _delivery(receipt: Receipt) -> Delivery:
    if receipt.status is Status.REJECTED:
        return Delivery(receipt.seq, Outcome.REJECTED, reason=_code(receipt.reason, "rejected"))
    return Delivery(receipt.seq, Outcome.DELIVERED, receipt=_receipt_json.encode(receipt).decode())


def _translate(name: str, exc: Exception) -> TransientError:
    """A transport failure as a sink error (the message names the failure, not the data)."""
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return SinkUnavailable(f"sink {name}: TLS failed ({type(exc).__name__})")
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        return SinkUnavailable(f"sink {name}: cannot connect ({type(exc).__name__})")
    if isinstance(exc, TimeoutError):
        return TransientError(f"sink {name}: timed out")
    return TransientError(f"sink {name}: {type(exc).__name__}: {str(exc)[:200]}")
