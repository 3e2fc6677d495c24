"""Portrait captures in the running daemon, from a simulated camera read through the real driver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import cv2
import numpy as np
import pytest

from drivers.camera.sim import CameraSim
from edge.app import App
from edge.config import Config
from edge.errors import ConfigError
from edge.records import Kind
from tests.helpers import make_config, make_record, next_of, running, sim_device, sse_events
from tests.portrait import scenes

# A short capture keeps the tests quick; analysis still runs at its real pace.
PORTRAIT = {"duration": 2.0, "analysis_fps": 6.0, "good_score": 0.8}


def camera_device(sim: CameraSim, name: str = "counter-cam") -> dict[str, Any]:
    options = {**sim.options(), "width": 1280, "height": 720, "frozen_after": 0.0}
    return {"name": name, "driver": "camera", "url": sim.url, "options": options}


@pytest.fixture
async def face_camera(tmp_path: Path) -> AsyncIterator[CameraSim]:
    # The traveller sways a little: a few positions of the same well-lit face.
    frames = [scenes.scene(0.36, cx=0.5 + dx, seed=3) for dx in (-0.02, 0.0, 0.02, 0.0)]
    async with CameraSim(tmp_path / "cam0", size=(1280, 720), fps=10, frames=frames) as sim:
        yield sim


@pytest.fixture
async def empty_camera(tmp_path: Path) -> AsyncIterator[CameraSim]:
    frames = [scenes.background(1280, 720, seed=s) for s in (1, 2)]
    async with CameraSim(tmp_path / "cam1", size=(1280, 720), fps=10, frames=frames) as sim:
        yield sim


def auth(app: App) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.token}"}


async def record_of(app: App, http: aiohttp.ClientSession, record_id: str) -> dict[str, Any]:
    async with http.get(f"{app.api_url}/v1/records/{record_id}", headers=auth(app)) as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def wait_ready(app: App, device: str) -> None:
    for _ in range(200):
        if any(s.config.name == device and s.driver is not None for s in app.supervisors):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{device} never connected")


async def test_a_document_read_stores_a_linked_portrait(
    data_dir: Path, face_camera: CameraSim
) -> None:
    config = make_config(
        data_dir,
        devices=[camera_device(face_camera), sim_device("reader", interval=1.0, count=1)],
        portrait=PORTRAIT,
    )
    async with running(config) as app, aiohttp.ClientSession() as http:
        async with http.get(app.api_url + "/v1/events", headers=auth(app)) as resp:
            events = sse_events(resp)
            document = await next_of(events, "record")
            assert document.data["kind"] == "document"
            feedback = await next_of(events, "portrait_feedback")
            assert feedback.data["document_record"] == document.data["id"]
            assert feedback.data["state"] == "capturing"
            ended = await next_of(events, "portrait", timeout=20)
        assert ended.data["state"] == "stored", ended.data
        assert ended.data["document_record"] == document.data["id"]
        assert ended.data["frames_analysed"] >= 1
        portrait = await record_of(app, http, ended.data["record"])
        assert portrait["kind"] == Kind.PORTRAIT
        assert portrait["verdict"] == "valid"
        assert portrait["format"] == "portrait_jpeg"
        fields = portrait["payload"]["fields"]
        assert fields["document_record"] == document.data["id"]
        assert fields["score"] >= 0.5
        assert fields["measures"]["faces"] == 1
        assert fields["crop"]["width"] == 480
        assert fields["crop"]["height"] == 640
        assert portrait["checks"]["faces"] == "passed"
        assert portrait["raw"] == ""  # the picture is a blob, not raw bytes
        (blob,) = portrait["blobs"]
        assert blob["media_type"] == "image/jpeg"
        data = app.store.read_blob_path(blob["sha256"]).read_bytes()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        assert image.shape[:2] == (640, 480)


async def test_no_face_gives_advice_and_stores_nothing(
    data_dir: Path, empty_camera: CameraSim
) -> None:
    config = make_config(data_dir, devices=[camera_device(empty_camera)], portrait=PORTRAIT)
    async with running(config) as app, aiohttp.ClientSession() as http:
        await wait_ready(app, "counter-cam")
        async with http.get(app.api_url + "/v1/events", headers=auth(app)) as resp:
            events = sse_events(resp)
            async with http.post(app.api_url + "/v1/portrait", headers=auth(app)) as started:
                assert started.status == 202
                session = (await started.json())["session"]
            feedback = await next_of(events, "portrait_feedback")
            assert feedback.data["session"] == session
            assert "no_face" in feedback.data["hints"]
            assert feedback.data["advice"][0]["code"] == "no_face"
            ended = await next_of(events, "portrait", timeout=20)
        assert ended.data["state"] == "no_usable_frame"
        assert ended.data["record"] is None
        async with http.get(app.api_url + "/v1/portrait", headers=auth(app)) as resp:
            status = await resp.json()
        assert status["camera_connected"] is True
        assert status["capture"]["state"] == "no_usable_frame"
        assert app.store.writer.last_seq == 0


async def test_requests_without_a_usable_camera_are_refused(
    data_dir: Path, face_camera: CameraSim
) -> None:
    async with running(make_config(data_dir)) as app, aiohttp.ClientSession() as http:
        async with http.post(app.api_url + "/v1/portrait", headers=auth(app)) as resp:
            assert resp.status == 404
        async with http.post(app.api_url + "/v1/portrait") as resp:
            assert resp.status == 401
    config = make_config(data_dir, devices=[camera_device(face_camera)], portrait=PORTRAIT)
    await face_camera.unplug()
    async with running(config) as app, aiohttp.ClientSession() as http:
        async with http.post(app.api_url + "/v1/portrait", headers=auth(app)) as resp:
            assert resp.status == 409
            assert "camera" in (await resp.json())["error"]
        await face_camera.replug()
        await wait_ready(app, "counter-cam")
        bad = {**auth(app), "Content-Type": "application/json"}
        async with http.post(app.api_url + "/v1/portrait", headers=bad, data=b"{") as resp:
            assert resp.status == 400
        async with http.post(
            app.api_url + "/v1/portrait", headers=bad, data=b'{"record": "r1"}'
        ) as resp:
            assert resp.status == 422  # the link goes into a signed record: it must exist
        # A stored document can be linked; once retention purged it (a tombstone), not any more.
        document = await (await app.store.append(make_record(1)))
        link = json.dumps({"record": document.id}).encode()
        async with http.post(app.api_url + "/v1/portrait", headers=bad, data=link) as resp:
            assert resp.status == 202
        purged = "UPDATE records SET purged_at = '2026-01-01T00:00:00.000Z' WHERE seq = ?"
        await app.store.apply([(purged, [(document.seq,)])])
        async with http.post(app.api_url + "/v1/portrait", headers=bad, data=link) as resp:
            assert resp.status == 422


def test_portrait_camera_must_name_a_device(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"portrait\.camera"):
        make_config(data_dir, portrait={"camera": "nowhere"})
    config: Config = make_config(data_dir, portrait={"good_score": 0.9, "min_score": 0.5})
    assert config.portrait.good_score == 0.9
    with pytest.raises(ConfigError, match="good_score"):
        make_config(data_dir, portrait={"good_score": 0.4, "min_score": 0.5})


async def test_one_capture_at_a_time_and_a_full_duration_without_early_end(
    data_dir: Path, face_camera: CameraSim
) -> None:
    portrait = {**PORTRAIT, "good_score": 1.0, "duration": 1.5}
    config = make_config(data_dir, devices=[camera_device(face_camera)], portrait=portrait)
    async with running(config) as app:
        await wait_ready(app, "counter-cam")
        portraits = app.portraits
        assert portraits is not None
        # Two requests at once (a document and the officer's retake): one capture runs.
        first, second = await asyncio.gather(
            portraits.start(None, "request"), portraits.start(None, "request")
        )
        assert first.id != second.id
        assert first.state == "superseded"  # ended by the second before it began
        assert portraits.current is second
        running_tasks = [
            t for t in asyncio.all_tasks() if t.get_name().startswith("portrait:") and not t.done()
        ]
        assert len(running_tasks) == 1
        while second.state == "capturing":
            await asyncio.sleep(0.05)
        # good_score 1 disables the early end: the capture ran its duration on many frames.
        assert second.state == "stored"
        assert second.analysed >= 3


async def test_a_document_read_without_a_camera_says_so(
    data_dir: Path, face_camera: CameraSim
) -> None:
    await face_camera.unplug()
    config = make_config(
        data_dir,
        devices=[camera_device(face_camera), sim_device("reader", interval=0.5, count=1)],
        portrait=PORTRAIT,
    )
    async with running(config) as app, aiohttp.ClientSession() as http:
        async with http.get(app.api_url + "/v1/events", headers=auth(app)) as resp:
            events = sse_events(resp)
            document = await next_of(events, "record")
            ended = await next_of(events, "portrait")
        assert ended.data["state"] == "camera_unavailable"
        assert ended.data["document_record"] == document.data["id"]
        # A retake asked for that document is accepted once the camera is back.
        await face_camera.replug()
        await wait_ready(app, "counter-cam")
        body = {"record": document.data["id"]}
        async with http.post(app.api_url + "/v1/portrait", headers=auth(app), json=body) as resp:
            assert resp.status == 202
            assert (await resp.json())["document_record"] == document.data["id"]
