"""The enrollment token stays off the screen and out of the process list.

Asked interactively it is read without echo; it may come from a file
(`--enroll-token-file`) or the environment (`MIDAS_EDGE_ENROLL_TOKEN`) instead of the
command line, where every user of the machine can read it with `ps`.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

from provisioning.settings import Settings, ask_missing
from provisioning.ui import Console

TOKEN = "0123abcd.SECRET-never-shown"
FINGERPRINT = "sha256:" + "ab" * 32
CLI_TIMEOUT_S = 90.0


def test_the_token_is_read_without_echo() -> None:
    prompts: list[str] = []

    def hidden(prompt: str) -> str:
        prompts.append(prompt)
        return TOKEN + "\n"

    answers = io.StringIO("bz-1\n\nhttps://region.example/\n\n\n")
    out = io.StringIO()
    settings = Settings(ca_fingerprint=FINGERPRINT)
    ask_missing(settings, Console(out, answers, interactive=True, hidden=hidden))
    assert settings.enroll_token == TOKEN
    assert prompts == ["? enrollment token: "]
    assert TOKEN not in out.getvalue()
    assert "enrollment token" not in out.getvalue()  # the prompt went to the hidden reader
    assert settings.nas_target is None  # the visible answers were not shifted by it


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MIDAS_EDGE_ENROLL_TOKEN"}


async def provision_cli(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge",
        "provision",
        "--root", str(root), "--workstation", "bz-tok-01", "--non-interactive", "--dry-run",
        "--region-url", "https://127.0.0.1:9/", "--ca-fingerprint", FINGERPRINT,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**clean_env(), **(env or {})},
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_S)
    return out.decode()


async def test_the_token_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    without = await provision_cli(root)
    assert "no token and CA fingerprint were given" in without
    for args, extra in (
        (("--enroll-token-file", str(token_file)), {}),
        ((), {"MIDAS_EDGE_ENROLL_TOKEN": TOKEN}),
    ):
        out = await provision_cli(root, *args, env=extra)
        assert "would enroll with https://127.0.0.1:9/ (not enrolled yet)" in out, out
        assert TOKEN not in out
    missing = await provision_cli(root, "--enroll-token-file", str(tmp_path / "none"))
    assert "the enrollment token cannot be read" in missing
