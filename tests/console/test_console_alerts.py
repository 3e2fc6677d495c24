"""Alert lists on the officer console in a real headless Chromium: late hits found while the
console was closed or cut off, the list passing its expiry on screen, verdicts next to a hit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.alerts.build import build_list
from edge.alerts.late import CODE_PREFIX
from edge.app import App
from tests.alerts.support import STOLEN, WANTED, drop, signed_list, stolen_passport
from tests.alerts.test_daemon import read, stored, until
from tests.console.browser import WAIT_MS, console
from tests.console.counter import counter, passport, wrong_check_digit
from tests.reliability.faultproxy import FaultProxy, Mode

# Long enough for the console to show the new list valid first on a busy machine.
EXPIRES_IN_S = 6


def late_alarms(app: App) -> list[str]:
    return [a.code for a in app.alarms.active() if a.code.startswith(CODE_PREFIX)]


async def late_hit(app: App, data_dir: Path, key: Ed25519PrivateKey) -> dict[str, object]:
    """The stolen passport read under list 1, then list 2 naming it: the amendment stored."""
    await read(app, stolen_passport())
    drop(data_dir / "alert-drop", "v2.bin", signed_list(key, [STOLEN, WANTED], version=2))
    await until(lambda: bool(late_alarms(app)))
    (amendment,) = [r for r in await stored(app) if r["kind"] == "amendment"]
    return amendment


async def test_a_late_hit_found_while_the_console_was_closed_waits_for_acknowledgement(
    tmp_path: Path, data_dir: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    async with counter(tmp_path, data_dir, alert_key=key, alert_rows=[WANTED]) as place:
        amendment = await late_hit(place.app, data_dir, key)
        async with console(place.app, tmp_path / "profile") as view:
            await view.wait_text("#late-alerts", STOLEN["ref"])
            late = await view.text("#late-alerts")
            assert "LATE ALERT HIT on an earlier traveller read at " in late
            assert f"amendment record {amendment['seq']}" in late
            assert "alert list v2" in late
            assert "late alert hit" not in (await view.text("#alarms")).lower()  # shown on top
            await view.page.keyboard.press("a")
            await view.page.locator("#late-alerts").wait_for(state="hidden", timeout=WAIT_MS)
            code = quote(f"{CODE_PREFIX}{amendment['id']}", safe="")
            assert ("POST", f"{view.base}/v1/alarms/{code}/ack") in view.methods
            assert late_alarms(place.app) == []
            await view.wait_text("#notice", "acknowledged")


async def test_a_late_hit_found_while_the_link_was_down_shows_after_reconnecting(
    tmp_path: Path, data_dir: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    async with counter(tmp_path, data_dir, alert_key=key, alert_rows=[WANTED]) as place:
        host, port = place.app.api_url.removeprefix("http://").rsplit(":", 1)
        async with (
            FaultProxy((host, int(port))) as link,
            console(place.app, tmp_path / "profile", base=link.url) as view,
        ):
            await view.wait_text("#alert-list", "Alert list v1")
            await link.set(Mode.REFUSE)
            await view.wait_text("#link", "reconnecting")
            amendment = await late_hit(place.app, data_dir, key)
            await link.set(Mode.PASS)
            await view.wait_text("#late-alerts", STOLEN["ref"])
            assert f"amendment record {amendment['seq']}" in await view.text("#late-alerts")
            await view.wait_text("#alert-list", "Alert list v2")


async def test_the_alert_list_turns_stale_on_screen_when_it_expires(
    tmp_path: Path, data_dir: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    async with (
        counter(tmp_path, data_dir, alert_key=key, alert_rows=[WANTED]) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await view.wait_text("#alert-list", "Alert list v1")
        now = dt.datetime.now(dt.UTC)
        expiring, _ = build_list(
            [STOLEN],
            version=2,
            issued=now - dt.timedelta(days=1),
            expires=now + dt.timedelta(seconds=EXPIRES_IN_S),
            private_key=key,
        )
        drop(data_dir / "alert-drop", "v2.bin", expiring)
        await view.wait_text("#alert-list", "Alert list v2, valid to")
        assert "tone-good" in (await view.page.get_attribute("#alert-list", "class") or "")
        await view.wait_text("#alert-list", "Alert list v2 is STALE")
        pill = await view.page.get_attribute("#alert-list", "class") or ""
        assert "tone-bad" in pill and "tone-good" not in pill
        assert await view.page.get_attribute("#alert-list", "data-stale") == "true"
        await view.wait_text("#alarms", "past its expiry")
        assert "STALE" in await view.text("#alert-list")  # the alarm's redraw agrees


async def test_verdicts_next_to_the_alert_check(tmp_path: Path, data_dir: Path) -> None:
    key = Ed25519PrivateKey.generate()
    async with (
        counter(tmp_path, data_dir, alert_key=key) as place,
        console(place.app, tmp_path / "profile") as view,
    ):
        await view.wait_text("#alert-list", "Alert list v1")
        # A hit: the verdict area says ALERT HIT in the alert's colours, the document's own
        # verdict beside it, never a big green VALID.
        await place.reader.present(stolen_passport())
        await view.wait_text("#alert-banner", "ALERT HIT")
        assert await view.text("#verdict-word") == "ALERT HIT"
        assert await view.text("#document-verdict") == "Document: VALID"
        assert "verdict-alert" in (await view.page.get_attribute("#verdict", "class") or "")
        assert await view.page.locator(".verdict-valid").count() == 0
        # Failed check digits: "no hit" on data that may be misread proves nothing.
        await place.reader.present(wrong_check_digit(passport("NILSSON", "ERIK", "U7T2049K8")))
        await view.wait_text("#verdict-word", "CHECK DIGITS FAILED")
        line = await view.text("#alert-line")
        assert "FAILED check digits" in line and "proves nothing" in line
        checks = await view.text(".checks")
        assert "Alert list\nundetermined" in checks or "Alert list undetermined" in checks
        # A partial check says what was checked and why not the rest.
        await place.reader.present(passport("", "ANNA", "K7T2049X8"))
        await view.wait_text("#alert-line", "only the document number was checked (no name)")
        assert "Alert list: no hit (list version 1)" in await view.text("#alert-line")
