"""Config contract: every mistake is one clear message naming the key, and exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import from_mapping, load, parse_size
from edge.errors import ConfigError
from tests.helpers import config_dict

GOOD = """
[workstation]
id = "bz-pgia-01"
data_dir = "{data}"

[api]
listen = "127.0.0.1:8470"

[[devices]]
name = "passport-reader"
driver = "sim"
url = "sim://passport"
options = {{ profile = "passport", interval = 1.0 }}

[[sinks]]
name = "regional-nas"
kind = "nas"
target = "/mnt/nas"

[[sinks]]
name = "region"
kind = "http"
target = "https://region.example:8443/"
required = false
ca = "/etc/midas-edge/regional-ca.pem"
cert = "/etc/midas-edge/workstation.crt"
key = "/etc/midas-edge/workstation.key"

[storage]
quota = "2GiB"
min_free = "256MiB"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_good_config_loads(tmp_path: Path) -> None:
    config = load(write(tmp_path, GOOD.format(data=tmp_path / "d")))
    assert config.workstation.id == "bz-pgia-01"
    assert config.devices[0].options == {"profile": "passport", "interval": 1.0}
    assert [s.required for s in config.sinks] == [True, False]
    assert config.storage.quota_bytes == 2 * 1024**3
    assert config.storage.min_free_bytes == 256 * 1024**2


@pytest.mark.parametrize(
    ("mutation", "key", "words"),
    [
        ({"workstation": {"id": "ws", "colour": "red"}}, "workstation.colour", "unknown key"),
        ({"workstation": {"id": 7}}, "workstation.id", "expected `str`, got `int`"),
        ({"workstation": {"data_dir": "/x"}}, "workstation.id", "required value missing"),
        ({"workstation": {"id": "Bad Id"}}, "workstation.id", "workstation id"),
        ({"workstation": {"id": "ws", "data_dir": "rel"}}, "workstation.data_dir", "absolute"),
        ({"api": {"listen": "0.0.0.0:8470"}}, "api.listen", "loopback"),
        ({"api": {"listen": "8470"}}, "api.listen", "host:port"),
        ({"storage": {"quota": "lots"}}, "storage.quota", "size"),
        ({"storage": {"on_full": "drop"}}, "storage.on_full", "invalid value"),
        ({"sinks": [{"name": "n", "kind": "ftp", "target": "/x"}]}, "sinks[0].kind", "invalid"),
        ({"sinks": [{"name": "n", "kind": "http", "target": "/x"}]}, "sinks[0].target", "http"),
        ({"sinks": [{"name": "n", "kind": "nas", "target": "x"}]}, "sinks[0].target", "mount"),
        (
            {"devices": [{"name": "r", "driver": "sim", "url": "ftp://x"}]},
            "devices[0].url",
            "device path",
        ),
        (
            {"devices": [{"name": "r", "driver": "sim", "url": "socket://nohost"}]},
            "devices[0].url",
            "socket://host:port",
        ),
        (
            {
                "devices": [
                    {"name": "r", "driver": "sim", "url": "sim://a"},
                    {"name": "r", "driver": "sim", "url": "sim://b"},
                ]
            },
            "devices[1].name",
            "unique",
        ),
    ],
)
def test_bad_values_name_key_and_expectation(
    mutation: dict[str, object], key: str, words: str
) -> None:
    data: dict[str, object] = {"workstation": {"id": "ws"}}
    data.update(mutation)
    with pytest.raises(ConfigError) as info:
        from_mapping(data, "c.toml")
    assert info.value.key == key
    assert words in info.value.expected
    assert str(info.value).startswith(f"c.toml: {key}: ")


def test_sizes() -> None:
    assert parse_size("1KiB") == 1024
    assert parse_size("1.5 MB") == 1_500_000
    assert parse_size(42) == 42
    with pytest.raises(ValueError, match="size"):
        parse_size("-1")


def test_toml_syntax_error_names_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[workstation\nid=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load(tmp_path / "nope.toml")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_config_check_ok(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.format(data=tmp_path / "d"))
    result = _cli("config", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_config_check_reads_env(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.format(data=tmp_path / "d"))
    result = _cli("config", "check", env={"MIDAS_EDGE_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr


def test_config_check_unknown_driver_and_bad_options(tmp_path: Path) -> None:
    text = GOOD.format(data=tmp_path / "d")
    bad_driver = write(tmp_path, text.replace('driver = "sim"', 'driver = "acme-9000"'))
    result = _cli("config", "check", str(bad_driver))
    assert result.returncode == 1
    assert "devices[0].driver" in result.stderr
    assert "Traceback" not in result.stderr
    bad_option = write(tmp_path, text.replace("interval = 1.0", "speed = 1"))
    result = _cli("config", "check", str(bad_option))
    assert result.returncode == 1
    assert "devices[0].options: unknown option 'speed'" in result.stderr


def test_config_check_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    path = write(tmp_path, GOOD.format(data=blocker / "d"))
    result = _cli("config", "check", str(path))
    assert result.returncode == 1
    assert "workstation.data_dir: expected a writable directory" in result.stderr


def test_usage_error_exits_2() -> None:
    assert _cli("no-such-command").returncode == 2
    assert _cli("config").returncode == 2


@pytest.mark.parametrize(
    ("sink", "key", "expected"),
    [
        ({"target": "https://r.example/"}, "ca", "CA bundle to pin"),
        ({"target": "http://r.example/", "cert": "/c.pem"}, "cert", "cert and key together"),
        ({"target": "http://r.example/", "ca": "ca.pem"}, "ca", "absolute path"),
        ({"target": "http://r.example/", "batch_records": 0}, "batch_records", "between 1"),
        ({"target": "http://r.example/", "batch_bytes": "lots"}, "batch_bytes", "size such as"),
        ({"target": "http://r.example/", "timeout": 0}, "timeout", "above zero"),
        ({"target": "http://r.example/", "interval": -1}, "interval", "above zero"),
    ],
)
def test_sink_transport_options_are_checked(
    tmp_path: Path, sink: dict[str, object], key: str, expected: str
) -> None:
    mapping = config_dict(tmp_path, sinks=[{"name": "region", "kind": "http", **sink}])
    with pytest.raises(ConfigError) as caught:
        from_mapping(mapping, "c.toml")
    assert f"sinks[0].{key}" in str(caught.value)
    assert expected in str(caught.value)


def test_forwarding_backoff_is_checked(tmp_path: Path) -> None:
    mapping = config_dict(tmp_path, forwarding={"backoff_base": 10, "backoff_cap": 1})
    with pytest.raises(ConfigError, match=r"forwarding\.backoff_base"):
        from_mapping(mapping, "c.toml")
