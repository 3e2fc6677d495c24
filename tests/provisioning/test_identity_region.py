"""The workstation's identity follows the region it is told, and enrolls over https only.

A workstation moved to another region (another CA fingerprint, another URL) is never left
pinning the old CA: with a token it enrolls with the new region, without one the step fails
saying what changed. A plain http region URL never receives the enrollment token.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509

from provisioning.changes import Applier, Verdict
from provisioning.enroll import EnrollError, fetch_ca
from provisioning.errors import ProvisioningError
from provisioning.identity import establish, same_region
from provisioning.settings import Settings
from tests.provisioning.region_server import region_server
from tests.provisioning.staging import WORKSTATION, bench

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="staging owners needs root")


@needs_root
async def test_a_workstation_moved_to_another_region_enrolls_again(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        first = await b.provision(enroll_token=b.token(), selftest="never")
        assert first.ok, b.outputs[-1]
        etc = b.root / "etc/midas-edge"
        async with region_server(tmp_path / "other") as other:
            moved = {"region_url": other.url + "/", "ca_fingerprint": other.region.fingerprint}
            with pytest.raises(ProvisioningError) as refused:
                await establish(b.settings(**moved), Applier(b.root))
            assert "is not the one enrolled with" in str(refused.value)
            assert "enroll-token --workstation bz-test-01" in str(refused.value)
            same_ca = b.settings(region_url=other.url + "/")  # the old CA, another server
            with pytest.raises(ProvisioningError, match=re.escape(f"region is now {other.url}/")):
                await establish(same_ca, Applier(b.root))
            assert (etc / "regional-ca.pem").read_bytes() == b.region.ca_pem  # nothing written

            again = await b.provision(**moved, enroll_token=other.token(WORKSTATION))
            assert again.ok, b.outputs[-1]
            identity = next(s for s in again.steps if s.name == "identity")
            assert identity.verdict is Verdict.CHANGED
            assert (etc / "regional-ca.pem").read_bytes() == other.region.ca_pem
            cert = x509.load_pem_x509_certificate((etc / "workstation.crt").read_bytes())
            cert.verify_directly_issued_by(other.region.ca_cert)
            enrolled = json.loads((etc / "enrollment.json").read_text())
            assert enrolled["region_url"] == other.url + "/"
            assert (other.region.trust_dir / f"{WORKSTATION}.pem").exists()


async def test_a_plain_http_region_never_receives_the_token(tmp_path: Path) -> None:
    asked: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        root = tmp_path / "root"
        (root / "var/lib/midas-edge").mkdir(parents=True)
        settings = Settings(
            workstation="bz-http-01",
            root=root,
            region_url=url,
            enroll_token="abc.secret",
            ca_fingerprint="sha256:" + "ab" * 32,
        )
        with pytest.raises(ProvisioningError, match="needs an https:// region URL"):
            await establish(settings, Applier(root))
        with pytest.raises(EnrollError) as insecure:
            await fetch_ca(url, "sha256:" + "ab" * 32)
        assert insecure.value.reason == "insecure_url"
        settings.enroll_token = None
        result = await establish(settings, Applier(root))
        assert "plain http: no client certificate" in result.summary
    finally:
        await runner.cleanup()
    assert asked == []


def test_region_urls_compare_by_scheme_host_and_port() -> None:
    assert same_region("https://Region.example/", "https://region.example:443")
    assert not same_region("https://region.example:8480/", "https://region.example/")
    assert not same_region("https://a.example/", "https://b.example/")
