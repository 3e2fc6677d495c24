"""The region's commands refuse what would weaken it: endless tokens, a second trust dir."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from receiver.region import init_region
from receiver.tokens import TokenStore
from tests.helpers import midas_cli

CLI_TIMEOUT_S = 60.0


async def receiver_cli(*args: str) -> tuple[int, str]:
    code, out, err = await midas_cli("receiver", *args, timeout=CLI_TIMEOUT_S)
    return code, out + err


@pytest.mark.parametrize("hours", ["nan", "inf", "-inf", "0", "-1", "720.5", "1e9"])
async def test_a_token_must_expire_within_a_month(tmp_path: Path, hours: str) -> None:
    init_region(tmp_path / "region", ["127.0.0.1"])
    code, out = await receiver_cli(
        "enroll-token", "--region", str(tmp_path / "region"), "--workstation", "ws-1",
        f"--valid-hours={hours}",
    )  # fmt: skip
    assert (code, out.strip()) == (
        1,
        "error: --valid-hours: expected a number of hours above 0 and at most 720",
    )
    assert "token:" not in out


async def test_a_month_long_token_is_issued(tmp_path: Path) -> None:
    init_region(tmp_path / "region", ["127.0.0.1"])
    code, out = await receiver_cli(
        "enroll-token", "--region", str(tmp_path / "region"), "--workstation", "ws-1",
        "--valid-hours", "720",
    )  # fmt: skip
    assert code == 0, out
    assert "(single use, valid 720 h)" in out


def test_the_token_store_refuses_a_validity_that_is_no_number(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "t.db")
    for valid_s in (math.nan, math.inf, 0.0):
        with pytest.raises(ValueError, match="finite validity above zero"):
            store.issue("ws-1", 1000.0, valid_s)


async def test_a_region_checks_batches_with_the_keys_enrollment_registers(
    tmp_path: Path,
) -> None:
    region, _ = init_region(tmp_path / "region", ["127.0.0.1"])
    other = tmp_path / "other-trust"
    other.mkdir()
    code, out = await receiver_cli(
        "--region", str(tmp_path / "region"), "--trust", str(other),
        "--db", str(tmp_path / "r.db"), "--listen", "127.0.0.1:0",
    )  # fmt: skip
    assert code == 1
    assert f"--region keeps its trust dir ({region.trust_dir})" in out
    assert "no other --trust with it" in out
