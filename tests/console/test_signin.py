"""Console sign-in over real HTTP: one-time codes, the session cookie, CSRF, headers, images."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path

import aiohttp
import pytest
import yarl

from drivers.base import Capture, CaptureKind, now_ms
from edge.api.console_auth import COOKIE, ConsoleAuth
from edge.app import App
from edge.console_cli import ConsoleLoginError, login_url, run
from edge.records import DeviceRef
from tests.helpers import make_config, running


def bearer(app: App) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.token}"}


async def signed_in(app: App, http: aiohttp.ClientSession) -> str:
    """Sign `http` in as the console would; return the session cookie's value."""
    async with http.post(app.api_url + "/v1/console/login-code", headers=bearer(app)) as resp:
        assert resp.status == 201
        body = await resp.json()
    assert body["expires_in"] == 30
    async with http.get(app.api_url + body["path"], allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/console"
        cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    return cookie.value


def test_codes_are_single_use_and_short_lived() -> None:
    now = [100.0]
    auth = ConsoleAuth(clock=lambda: now[0])
    code = auth.new_code()
    session = auth.redeem(code)
    assert session is not None and auth.valid(session)
    assert auth.redeem(code) is None  # used once already
    late = auth.new_code()
    now[0] += 30.0
    assert auth.redeem(late) is None  # expired
    assert auth.valid(session)
    now[0] += 12 * 3600
    assert not auth.valid(session)  # a shift later
    assert auth.redeem("") is None
    kept = [auth.new_code() for _ in range(40)]
    assert auth.redeem(kept[0]) is None  # the oldest pending codes were dropped
    assert auth.redeem(kept[-1]) is not None


async def test_cookie_reads_and_same_origin_writes(data_dir: Path) -> None:
    async with running(make_config(data_dir)) as app:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            session = await signed_in(app, http)
            assert session not in app.api_url
            async with http.get(app.api_url + "/v1/console/session") as resp:
                assert resp.status == 200
                assert (await resp.json()) == {
                    "workstation": "test-ws",
                    "via": "console",
                    "portrait": False,
                    "alerts": False,
                }
            async with http.get(app.api_url + "/v1/devices") as resp:
                assert resp.status == 200
            # A write with the cookie but no Origin (or another one) is refused: CSRF.
            async with http.post(app.api_url + "/v1/portrait") as resp:
                assert resp.status == 403
            evil = {"Origin": "http://evil.example"}
            async with http.post(app.api_url + "/v1/portrait", headers=evil) as resp:
                assert resp.status == 403
            own = {"Origin": app.api_url, "Sec-Fetch-Site": "cross-site"}
            async with http.post(app.api_url + "/v1/portrait", headers=own) as resp:
                assert resp.status == 403
            own = {"Origin": app.api_url, "Sec-Fetch-Site": "same-origin"}
            async with http.post(app.api_url + "/v1/portrait", headers=own) as resp:
                assert resp.status == 404  # through auth: no camera is configured
            # A console session never mints login codes.
            async with http.post(app.api_url + "/v1/console/login-code", headers=own) as resp:
                assert resp.status == 403
            async with http.post(app.api_url + "/v1/console/logout", headers=own) as resp:
                assert resp.status == 200
            # The daemon forgot the session: the old cookie no longer opens anything.
            async with http.get(
                app.api_url + "/v1/devices", headers={"Cookie": f"{COOKIE}={session}"}
            ) as resp:
                assert resp.status == 401


async def test_used_or_unknown_codes_get_the_signin_page(data_dir: Path) -> None:
    async with running(make_config(data_dir)) as app, aiohttp.ClientSession() as http:
        async with http.post(app.api_url + "/v1/console/login-code", headers=bearer(app)) as resp:
            path = (await resp.json())["path"]
        async with http.get(app.api_url + path, allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.get(app.api_url + path, allow_redirects=False) as resp:
            assert resp.status == 403
            assert "midas-edge console" in await resp.text()
            assert COOKIE not in resp.cookies
        async with http.get(app.api_url + "/console/login?code=nope") as resp:
            assert resp.status == 403
        async with http.post(app.api_url + "/v1/console/login-code") as resp:
            assert resp.status == 401


async def test_console_pages_carry_strict_headers(data_dir: Path) -> None:
    async with running(make_config(data_dir)) as app, aiohttp.ClientSession() as http:
        for path in ("/console", "/console/console.js", "/console/console.css"):
            async with http.get(app.api_url + path) as resp:
                assert resp.status == 200, path
                csp = resp.headers["Content-Security-Policy"]
                assert "default-src 'self'" in csp
                assert "script-src 'self'" in csp
                assert "'unsafe-inline'" not in csp
                assert resp.headers["X-Frame-Options"] == "DENY"
                assert resp.headers["Referrer-Policy"] == "no-referrer"
                assert resp.headers["Cache-Control"] == "no-store"
                text = await resp.text()
            assert "http://" not in text.replace(app.api_url, "")  # nothing from elsewhere
        async with http.get(app.api_url + "/console") as resp:
            page = await resp.text()
        assert "<script>" not in page and " style=" not in page  # no inline script or style
        for path in ("/console/nope.js", "/console/..%2Fapi%2Ftoken.py", "/console/x.py"):
            async with http.get(yarl.URL(app.api_url + path, encoded=True)) as resp:
                assert resp.status == 404, path
        async with http.get(app.api_url + "/v1/records", headers=bearer(app)) as resp:
            assert resp.headers["Cache-Control"] == "no-store"


async def test_record_images_are_served_to_their_record_only(data_dir: Path) -> None:
    image = b"\xff\xd8\xff\xe0 a small JPEG stand-in \xff\xd9"
    async with running(make_config(data_dir)) as app, aiohttp.ClientSession() as http:
        assert app.pipeline is not None
        capture = Capture(
            CaptureKind.PORTRAIT, b"", now_ms(), images=(("image/jpeg", image),), meta={}
        )
        done = await app.pipeline.submit(DeviceRef("cam", "camera"), capture)
        record = await done
        other = await (
            await app.pipeline.submit(
                DeviceRef("reader", "sim"), Capture(CaptureKind.DOCUMENT, b"X\r", now_ms())
            )
        )
        sha = hashlib.sha256(image).hexdigest()
        assert [b.sha256 for b in record.blobs] == [sha]
        url = f"{app.api_url}/v1/records/{record.id}/blobs/{sha}"
        async with http.get(url) as resp:
            assert resp.status == 401
        async with http.get(url, headers=bearer(app)) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "image/jpeg"
            assert resp.headers["Cache-Control"] == "no-store"
            assert await resp.read() == image
        wrong = f"{app.api_url}/v1/records/{other.id}/blobs/{sha}"
        async with http.get(wrong, headers=bearer(app)) as resp:
            assert resp.status == 404
        async with http.get(url[:-1] + "x", headers=bearer(app)) as resp:
            assert resp.status == 400
        app.store.read_blob_path(sha).unlink()
        async with http.get(url, headers=bearer(app)) as resp:
            assert resp.status == 410


async def test_cli_prints_a_one_time_address(data_dir: Path, unused_tcp_port: int) -> None:
    config = make_config(data_dir, api={"listen": f"127.0.0.1:{unused_tcp_port}"})
    with pytest.raises(ConsoleLoginError, match="token"):
        login_url(config)  # no daemon has ever run: no token file
    async with running(config) as app, aiohttp.ClientSession() as http:
        out = io.StringIO()
        code = await asyncio.to_thread(run, config, out, open_browser=False)
        assert code == 0
        url = out.getvalue().strip()
        assert url.startswith(f"{app.api_url}/console/login?code=")
        assert app.token not in url
        async with http.get(url, allow_redirects=False) as resp:
            assert resp.status == 303
    with pytest.raises(ConsoleLoginError, match="does not answer"):
        login_url(config)
