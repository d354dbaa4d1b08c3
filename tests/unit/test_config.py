"""Settings layer defaults < config file < environment < flags, and reject bad values clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError


def test_defaults_put_all_state_under_home(tmp_path: Path) -> None:
    settings = Settings.load(env={"WINGSPAN_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.storage_root == (tmp_path / "blobs").as_uri()
    assert settings.database_url.endswith(f"{tmp_path}/db/wingspan.sqlite")
    assert settings.http_port == 8080 and settings.grpc_port == 8089


def test_layers_override_in_order(tmp_path: Path) -> None:
    config = tmp_path / "wingspan.toml"
    config.write_text('http-port = 9000\ngrpc_port = 9001\nstorage = "s3://from-file/x"\n')
    env = {"WINGSPAN_HOME": str(tmp_path), "WINGSPAN_GRPC_PORT": "9101"}
    settings = Settings.load({"storage": "s3://from-flag/y", "http_port": None},
                             config_file=config, env=env)
    assert settings.http_port == 9000  # file; the None flag does not override
    assert settings.grpc_port == 9101  # environment beats file
    assert settings.storage == "s3://from-flag/y"  # flag beats all


def test_config_file_can_come_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("s3_secure = true\n")
    settings = Settings.load(env={"WINGSPAN_CONFIG": str(config), "WINGSPAN_HOME": str(tmp_path)})
    assert settings.s3_secure is True


def test_unknown_key_lists_valid_settings(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("htp_port = 1\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'htp_port'.*valid settings: .*http_port"):
        Settings.load(config_file=config, env={})


def test_bad_value_names_setting_and_source() -> None:
    with pytest.raises(ConfigError, match=r"'grpc_port' \(environment variable WINGSPAN_GRPC_PORT\)"):
        Settings.load(env={"WINGSPAN_GRPC_PORT": "eighty"})
    with pytest.raises(ConfigError, match="flag --s3-secure"):
        Settings.load({"s3_secure": "maybe"}, env={})


def test_missing_or_invalid_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(config_file=tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("= broken")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(config_file=bad, env={})


@given(st.integers(min_value=0, max_value=65535), st.booleans())
def test_environment_values_round_trip(port: int, secure: bool) -> None:
    env = {"WINGSPAN_HTTP_PORT": str(port), "WINGSPAN_S3_SECURE": str(secure).lower(),
           "WINGSPAN_HOME": "/tmp/wingspan-home"}
    settings = Settings.load(env=env)
    assert (settings.http_port, settings.s3_secure) == (port, secure)
