"""The officer console in a real headless Chromium, on the real daemon with simulated devices."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.base import HealthState
from tests.alerts.support import STOLEN, WANTED, drop, signed_list, stolen_passport
from tests.console.browser import WAIT_MS, Console, console, login_path
from tests.console.counter import (
    boarding_pass,
    counter,
    expired_passport,
    passport,
    wrong_check_digit,
)
from tests.drivers.support import wait_for


async def assert_private(view: Console, token: str) -> None:
    """What the browser itself requested, from the console's sign-in page on: never the token
    (in an address or any header), the one-time code once and only in its own address, no
    referrer; the event stream only after sign-in; nothing kept in web storage."""
    assert view.login is not None
    assert view.requests[0] == view.base + "/console"
    signed_in_at = view.requests.index(view.login)
    assert view.base + "/v1/console/session" in view.requests[:signed_in_at]
    assert view.base + "/v1/events" not in view.requests[:signed_in_at]
    assert view.base + "/v1/events" in view.requests[signed_in_at:]
    code = view.login.partition("?code=")[2]
    assert code and token not in view.login
    assert [url for url in view.requests if code in url] == [view.login]
    for request in view.made:
        headers = await request.all_headers()
        assert "authorization" not in headers, request.url
        assert not headers.get("referer"), request.url
        assert not [v for v in headers.values() if token in v or code in v], request.url
        assert token not in request.url
    assert await view.stored_in_browser() == {
        "local": 0,
        "session": 0,
        "indexeddb": 0,
        "caches": 0,
    }
    (cookie,) = await view.context.cookies()
    assert cookie["name"] == "midas_console"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert token not in cookie["value"]
    assert await view.page.evaluate("document.cookie") == ""  # not readable by scripts


async def test_a_passport_read_appears_with_its_verdict_and_fields(
    tmp_path: Path, data_dir: Path
) -> None:
    async with (
        counter(tmp_path, data_dir) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await view.wait_text("#link", "Connected")
        await view.wait_text('[data-device="passport-reader"]', "Ready")
        await place.reader.present(passport())
        await view.wait_text("#verdict-word", "VALID")
        assert await view.text("#traveller-name") == "ANNA MARIA ERIKSSON"
        assert await view.text("#f-document-number") == "L898902C3"
        assert await view.text("#f-nationality") == "UTO"
        birth = await view.text("#f-birth")
        assert "12 AUG 1974" in birth
        assert "age " in birth
        assert "days to expiry" in await view.text("#f-expiry")
        checks = await view.text(".checks")
        assert "Document number check digit" in checks
        assert "FAILED" not in checks
        assert await view.page.locator(".check-passed").count() == 6
        assert "Stored on this workstation" in await view.text("#forwarding")
        # The page's own address after sign-in: the console, no code, no token.
        assert view.page.url == view.base + "/console"
        await assert_private(view, place.app.token)


async def test_the_next_traveller_replaces_the_last(tmp_path: Path, data_dir: Path) -> None:
    async with (
        counter(tmp_path, data_dir) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await place.reader.present(expired_passport())
        await view.wait_text("#verdict-word", "EXPIRED")
        assert "expired 41 days ago" in await view.text("#f-expiry")
        assert "verdict-expired" in (await view.page.get_attribute("#verdict", "class") or "")
        await place.reader.present(wrong_check_digit(passport("NILSSON", "ERIK", "U7T2049K8")))
        await view.wait_text("#verdict-word", "CHECK DIGITS FAILED")
        problems = await view.text(".errors")
        assert "check digit of the document number does not match" in problems.lower()
        await place.reader.present(passport())
        await view.wait_text("#traveller-name", "ANNA MARIA ERIKSSON")
        html = await view.page.content()
        for earlier in ("SPECIMEN", "X4R7TN2K1", "NILSSON", "U7T2049K8"):
            assert earlier not in html
        assert await view.page.locator("#traveller-card").count() == 1
        # A boarding pass and visa seals join the traveller on screen.
        await place.scanner.present(boarding_pass())
        await view.wait_text("#extras", "ERIKSSON/ANNA MARIA")
        legs = view.page.locator(".legs tbody tr")
        assert await legs.count() == 2
        assert len(await legs.nth(0).locator("td").all_inner_texts()) == 6
        await view.page.keyboard.press("Escape")
        await view.wait_text("#traveller", "Waiting for the next traveller")
        assert "ERIKSSON" not in await view.page.content()
        await assert_private(view, place.app.token)


async def test_visa_seal_signature_verdicts(tmp_path: Path, data_dir: Path) -> None:
    async with (
        counter(tmp_path, data_dir, seals=True) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        place.scanner.symbology = "qr"
        good, altered = place.seals
        await place.scanner.present(good)
        await view.wait_text("#seal-verdict", "Signature valid")
        assert await view.text("#verdict-word") == "NO DOCUMENT READ YET"
        await place.scanner.present(altered)
        await view.wait_text(".seal:last-child", "Signature INVALID")
        assert "may be altered" in await view.text(".seal:last-child")


async def test_an_alert_hit_shows_the_banner(tmp_path: Path, data_dir: Path) -> None:
    key = Ed25519PrivateKey.generate()
    async with (
        counter(tmp_path, data_dir, alert_key=key) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await view.wait_text("#alert-list", "Alert list v1")
        await place.reader.present(passport())
        await view.wait_text("#alert-line", "Alert list: no hit")
        assert await view.page.locator("#alert-banner").count() == 0
        await place.reader.present(stolen_passport())
        await view.wait_text("#alert-banner", "ALERT HIT")
        banner = await view.text("#alert-banner")
        assert "LOST or STOLEN" in banner
        assert STOLEN["ref"] in banner
        assert await view.page.get_attribute("#alert-banner", "role") == "alert"
        await place.reader.present(passport())
        await view.wait_text("#alert-line", "no hit")
        assert await view.page.locator("#alert-banner").count() == 0


async def test_a_late_hit_stays_until_acknowledged(tmp_path: Path, data_dir: Path) -> None:
    key = Ed25519PrivateKey.generate()
    async with (
        counter(tmp_path, data_dir, alert_key=key, alert_rows=[WANTED]) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await view.wait_text("#alert-list", "Alert list v1")
        await place.reader.present(stolen_passport())
        await view.wait_text("#alert-line", "no hit")
        # Headquarters' next list names the passport: the re-check finds it after the fact.
        drop(data_dir / "alert-drop", "v2.bin", signed_list(key, [STOLEN, WANTED], version=2))
        await view.wait_text("#late-alerts", "LATE ALERT HIT")
        assert STOLEN["ref"] in await view.text("#late-alerts")
        await view.wait_text("#alert-list", "Alert list v2")
        await place.reader.present(passport())  # the next traveller does not hide it
        await view.wait_text("#traveller-name", "ANNA MARIA ERIKSSON")
        assert await view.page.locator("#late-alerts").is_visible()
        await view.page.keyboard.press("a")
        await view.page.locator("#late-alerts").wait_for(state="hidden", timeout=WAIT_MS)


async def test_a_device_unplug_shows_on_screen(tmp_path: Path, data_dir: Path) -> None:
    async with (
        counter(tmp_path, data_dir) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        reader = '[data-device="passport-reader"]'
        await view.wait_text(reader, "Ready")
        await place.reader.unplug()
        await view.wait_text(reader, "NOT CONNECTED")
        assert await view.page.get_attribute(reader, "data-state") == "absent"
        assert "Ready" in await view.text('[data-device="boarding-scanner"]')
        await place.reader.replug()
        await wait_for(lambda: place.device("passport-reader") is HealthState.READY)
        await view.wait_text(reader, "Ready")


async def test_portrait_feedback_image_and_keys(tmp_path: Path, data_dir: Path) -> None:
    async with (
        counter(tmp_path, data_dir, camera=True) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await place.reader.present(passport())
        await view.wait_text("#portrait-quality", "GOOD")
        image = view.page.locator("#portrait-img")
        await image.wait_for(timeout=WAIT_MS)
        await view.page.wait_for_function(
            "() => document.querySelector('#portrait-img').naturalWidth > 0", timeout=WAIT_MS
        )
        assert (
            await view.page.evaluate("() => document.querySelector('#portrait-img').naturalWidth")
            == 480
        )
        src = await image.get_attribute("src") or ""
        assert src.startswith("blob:")
        # The object URL is revoked once the picture is shown: nothing to fetch again.
        still_there = await view.page.evaluate(
            "src => fetch(src).then(() => true, () => false)", src
        )
        assert still_there is False
        blob_requests = [u for u in view.requests if "/blobs/" in u]
        assert len(blob_requests) == 1
        # P asks the daemon for a new portrait, from the console's own origin.
        await view.page.keyboard.press("p")
        await view.wait_text("#notice", "Taking the portrait again")
        assert ("POST", view.base + "/v1/portrait") in view.methods
        await view.wait_text("#portrait-state", "Portrait stored")
        await view.page.keyboard.press("Escape")
        await view.wait_text("#traveller", "Waiting for the next traveller")
        assert await view.page.locator("#portrait-img").count() == 0
        await assert_private(view, place.app.token)


async def test_live_portrait_advice_while_nobody_is_at_the_camera(
    tmp_path: Path, data_dir: Path
) -> None:
    async with (
        counter(tmp_path, data_dir, camera=True, nobody_at_camera=True) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await place.reader.present(passport())
        await view.wait_text("#portrait-hints", "No face in view")
        await view.wait_text("#portrait-state", "No usable portrait. Press P")
        assert await view.page.locator("#portrait-img").count() == 0
        assert "No portrait yet" in await view.text("#portrait-photo")


async def test_a_console_not_signed_in_says_how(tmp_path: Path, data_dir: Path) -> None:
    async with (
        counter(tmp_path, data_dir) as place,
        console(place.app, tmp_path / "profile", sign_in=False) as view,
    ):
        await view.page.locator("#signin").wait_for(timeout=WAIT_MS)
        assert "midas-edge console" in await view.text("#signin")
        assert await view.page.locator("#app").is_hidden()
        assert not [u for u in view.requests if u.endswith("/v1/events")]
        # A used code gets the sign-in page, and no cookie.
        response = await view.page.goto(view.base + "/console/login?code=used-or-unknown")
        assert response is not None and response.status == 403
        assert await view.context.cookies() == []
        body = json.dumps(await view.page.content())
        assert "not valid" in body


async def test_signing_out_from_the_console(tmp_path: Path, data_dir: Path) -> None:
    async with (
        counter(tmp_path, data_dir) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await place.reader.present(passport())
        await view.wait_text("#traveller-name", "ANNA MARIA ERIKSSON")
        (cookie,) = await view.context.cookies()
        # One press asks to be sure; the second, within a few seconds, signs out.
        await view.page.keyboard.press("s")
        await view.wait_text("#notice", "Press S again")
        assert ("POST", view.base + "/v1/console/logout") not in view.methods
        await view.page.keyboard.press("s")
        await view.page.locator("#signin").wait_for(timeout=WAIT_MS)
        assert await view.text("#signin-title") == "Signed out"
        assert "midas-edge console" in await view.text("#signin")
        assert await view.page.locator("#app").is_hidden()
        assert ("POST", view.base + "/v1/console/logout") in view.methods
        assert "ERIKSSON" not in await view.page.content()
        assert await view.context.cookies() == []
        # The daemon forgot the session, and the stream it had open is closed.
        await wait_for(lambda: place.app.hub.subscriber_count() == 0)
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                view.base + "/v1/devices", headers={"Cookie": f"{cookie['name']}={cookie['value']}"}
            ) as resp,
        ):
            assert resp.status == 401
        # The sign-out button does the same.
        await view.page.goto(view.base + await login_path(place.app))
        await view.page.wait_for_selector("#link.link-up", timeout=WAIT_MS)
        await view.page.click("#signout")
        await view.wait_text("#signout", "Press S again")
        await view.page.click("#signout")
        await view.page.locator("#signin").wait_for(timeout=WAIT_MS)
        assert await view.context.cookies() == []
