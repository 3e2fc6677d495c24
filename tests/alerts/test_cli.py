"""`midas-edge alerts`: keygen, build, verify, import, status and publish from the command line."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.alerts.errors import AlertListError
from edge.alerts.keeper import LIST_FILE
from edge.alerts.keys import load_private_key, load_public_key, public_base64
from edge.cli import main
from receiver.sqlite_store import SqliteStorage
from receiver.storage import AlertListMeta
from tests.alerts.support import signed_list

ROWS = """category,ref,issuing_country,document_type,document_number,surname,given_names,birth_date
lost_stolen,HQ-1,UTO,P,L0S7-0001,,,
person_of_interest,HQ-2,,,,Jürgens,Eva,1970-01-05
person_of_interest,HQ-3,UTO,ID,X99887766,Nilsson,Per,1966
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.fixture
def region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, (keygen,), _ = run(capsys, "alerts", "keygen", "--out", str(tmp_path / "region.key"))
    assert code == 0
    return keygen


def config_file(tmp_path: Path, data_dir: Path, public_key: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[workstation]\nid = "ws-1"\ndata_dir = "{data_dir}"\n'
        f'[alerts]\npublic_key = "{public_key}"\n'
    )
    return path


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(
    tmp_path: Path, region: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "region.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert Path(region["public_key_file"]).read_text().startswith("-----BEGIN PUBLIC KEY")
    assert len(region["key_id"]) == 16
    code, _, err = run(capsys, "alerts", "keygen", "--out", str(key))
    assert code == 1 and "never overwritten" in err


def test_build_then_verify(
    tmp_path: Path, region: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(ROWS, encoding="utf-8")
    out = tmp_path / "list.bin"
    code, (built,), _ = run(
        capsys,
        "alerts", "build", "--key", str(tmp_path / "region.key"), "--input", str(rows),
        "--out", str(out), "--version", "42", "--valid-days", "2",
    )  # fmt: skip
    assert code == 0
    # HQ-1: 1 document; HQ-2: 2 forms of Jürgens; HQ-3: 1 document + 1 person.
    assert (built["version"], built["rows"], built["entries"]) == (42, 3, 5)
    assert "L0S7" not in json.dumps(built) and "rgens" not in json.dumps(built)
    code, (verified,), _ = run(
        capsys, "alerts", "verify", str(out), "--public-key", region["public_key"]
    )
    assert code == 0
    assert (verified["version"], verified["entries"], verified["stale"]) == (42, 5, False)
    assert verified["key_id"] == region["key_id"]
    code, _, _ = run(
        capsys, "alerts", "verify", str(out), "--public-key", region["public_key_file"]
    )
    assert code == 0
    other = tmp_path / "other.key"
    run(capsys, "alerts", "keygen", "--out", str(other))
    code, (refusal,), _ = run(
        capsys, "alerts", "verify", str(out), "--public-key", str(other) + ".pub"
    )
    assert code == 1 and refusal["refused"] == "wrong_key"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('[{"category": "stolen", "ref": "R1"}]', "row 1: category"),
        ('{"category": "lost_stolen", "ref": "R 1"}', "row 1: ref"),
        ('[{"category": "lost_stolen", "ref": "R1", "document_number": "SECRET99"}]', "row 1:"),
        (
            '[{"category": "person_of_interest", "ref": "R1", "surname": "SECRETNAME",'
            ' "birth_date": "03/04/1971"}]',
            "row 1: birth_date",
        ),
        ("category,ref,shoe_size\nlost_stolen,R1,44\n", "unknown columns shoe_size"),
        # Digits no MRZ holds (Arabic-Indic, full-width) name the row, never crash the build.
        (
            "category,ref,surname,given_names,birth_date\n"
            "person_of_interest,R1,SECRETNAME,John,\u0661\u0669\u0667\u0661-\u0660\u0663-\u0660\u0664\n",
            "row 2: birth_date",
        ),
        (
            '[{"category": "lost_stolen", "ref": "R1", "issuing_country": "UTO",'
            ' "document_number": "SECRET\uff19\uff19"}]',
            "row 1: document_number",
        ),
        (
            '[{"category": "lost_stolen", "ref": "R1", "issuing_country": "\u00dcTO",'
            ' "document_number": "SECRET99"}]',
            "row 1: issuing_country",
        ),
        ('[{"category": "lost_stolen", "ref": "R1"}]', "neither a document nor a person"),
    ],
)
def test_bad_input_names_the_row_never_the_value(
    tmp_path: Path,
    region: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    rows: str,
    message: str,
) -> None:
    source = tmp_path / "rows.json"
    source.write_text(rows)
    code, _, err = run(
        capsys,
        "alerts", "build", "--key", str(tmp_path / "region.key"), "--input", str(source),
        "--out", str(tmp_path / "list.bin"),
    )  # fmt: skip
    assert code == 1
    assert message in err
    assert "SECRET" not in err and "03/04" not in err
    assert not (tmp_path / "list.bin").exists()


def test_import_places_the_list_for_the_daemon_and_status_reads_the_kept_one(
    tmp_path: Path, data_dir: Path, region: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, data_dir, region["public_key"])
    key = load_private_key(tmp_path / "region.key")
    newer = tmp_path / "newer.bin"
    newer.write_bytes(signed_list(key, version=9))
    code, (placed,), _ = run(capsys, "alerts", "import", str(newer), "--config", str(config))
    assert code == 0
    target = Path(placed["placed"])
    assert target == data_dir / "alert-drop" / "alert-list-9.bin"
    assert target.read_bytes() == newer.read_bytes()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600

    code, (status,), _ = run(capsys, "alerts", "status", "--config", str(config))
    assert code == 1 and status == {"daemon": False, "in_force": False}
    (data_dir / LIST_FILE).write_bytes(newer.read_bytes())
    code, (status,), _ = run(capsys, "alerts", "status", "--config", str(config))
    assert code == 0 and (status["in_force"], status["version"]) == (True, 9)

    older = tmp_path / "older.bin"
    older.write_bytes(signed_list(key, version=8))
    code, (refusal,), _ = run(capsys, "alerts", "import", str(older), "--config", str(config))
    assert code == 1 and refusal["refused"] == "older_version"
    forged = tmp_path / "forged.bin"
    good = newer.read_bytes()
    forged.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))
    code, (refusal,), _ = run(capsys, "alerts", "import", str(forged), "--config", str(config))
    assert code == 1 and refusal["refused"] == "bad_signature"


def test_publish_into_a_receiver_database(
    tmp_path: Path, region: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    key = load_private_key(tmp_path / "region.key")
    listed = tmp_path / "list.bin"
    listed.write_bytes(signed_list(key, version=3))
    db = tmp_path / "receiver.db"
    code, (out,), _ = run(
        capsys,
        "alerts",
        "publish",
        str(listed),
        "--db",
        str(db),
        "--public-key",
        region["public_key"],
    )
    assert code == 0 and out["published"] == "stored"

    async def latest() -> AlertListMeta | None:
        storage = SqliteStorage(db)
        await storage.open()
        try:
            return await storage.latest_alert_list()
        finally:
            await storage.close()

    published = asyncio.run(latest())
    assert published is not None and published.version == 3
    listed.write_bytes(signed_list(key, version=2))
    code, (out,), _ = run(
        capsys,
        "alerts",
        "publish",
        str(listed),
        "--db",
        str(db),
        "--public-key",
        region["public_key"],
    )
    assert code == 1 and out["published"] == "older"


def test_config_check_reads_the_region_key_and_the_fetch_sink(
    tmp_path: Path, data_dir: Path, region: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, data_dir, region["public_key_file"])
    assert main(["config", "check", str(config)]) == 0
    capsys.readouterr()
    Path(region["public_key_file"]).write_text("not a key")
    assert main(["config", "check", str(config)]) == 1
    assert "alerts.public_key: expected" in capsys.readouterr().err
    config.write_text(config.read_text() + 'fetch_sink = "regional"\n')
    assert main(["config", "check", str(config)]) == 1
    assert "alerts.fetch_sink: expected the name of a configured sink" in capsys.readouterr().err


def test_a_base64_key_starting_with_a_slash_is_a_key_not_a_path(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One region key in 64 has a base64 form starting with "/", like an absolute path.
    key = next(
        k
        for k in iter(Ed25519PrivateKey.generate, None)
        if public_base64(k.public_key()).startswith("/")
    )
    inline = public_base64(key.public_key())
    assert load_public_key(inline).public_bytes_raw() == key.public_key().public_bytes_raw()
    listed = tmp_path / "list.bin"
    listed.write_bytes(signed_list(key, version=3))
    code, (verified,), _ = run(capsys, "alerts", "verify", str(listed), "--public-key", inline)
    assert code == 0 and verified["version"] == 3
    config = config_file(tmp_path, data_dir, inline)
    code, (checked,), _ = run(capsys, "alerts", "verify", str(listed), "--config", str(config))
    assert code == 0 and checked["version"] == 3
    with pytest.raises(AlertListError, match="cannot be read"):
        load_public_key("/nowhere/region.pub")
