"""What `wingspan serve` exposes: beyond loopback, nothing without a token unless --insecure;
no secret in the process list, no task data in its verbose log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.unit.api.served import wingspan_serve
from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.server.api.exposure import check_exposure, is_loopback


def _serve(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """`wingspan serve ARGS`, for a start that is refused (it must end on its own)."""
    return subprocess.run(
        [sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0", *args],
        env={**os.environ, "WINGSPAN_HOME": str(home)},
        capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("flag", ["--http-host", "--grpc-host"])
def test_a_bind_beyond_loopback_without_authentication_is_refused_without_insecure(
        tmp_path: Path, flag: str) -> None:
    done = _serve(flag, "0.0.0.0", "--auth", "off", home=tmp_path / "home")
    assert done.returncode == 2, done.stderr
    assert f"refusing to listen on {flag} 0.0.0.0" in done.stderr
    assert "--insecure" in done.stderr
    # refused before anything was opened: no database was created
    assert not (tmp_path / "home" / "db").exists()


async def test_insecure_says_the_exposure_is_meant(tmp_path: Path) -> None:
    async with wingspan_serve("--http-host", "0.0.0.0", "--insecure",
                              env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (served, http_url, _h, _p):
        port = http_url.rsplit(":", 1)[1]
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            listed = await http.post(f"http://127.0.0.1:{port}/api/v1/ListProjects", json={})
            assert listed.status_code == 200
        assert "auth off" in "".join(served.lines)


async def test_beyond_loopback_every_call_needs_a_token_by_default(tmp_path: Path) -> None:
    async with wingspan_serve("--http-host", "0.0.0.0",
                              env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (served, http_url, _h, _p):
        port = http_url.rsplit(":", 1)[1]
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            refused = await http.post(f"http://127.0.0.1:{port}/api/v1/ListProjects", json={})
            assert refused.status_code == 401 and "wingspan login" in refused.json()["message"]
        log = "".join(served.lines)
        assert "auth required" in log and "--auth-issuer" in log  # tokens would name 0.0.0.0


async def test_on_loopback_nothing_changes_by_default(tmp_path: Path) -> None:
    async with wingspan_serve(env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (served, http_url, _h, _p):
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.post(f"{http_url}/api/v1/ListProjects", json={})).status_code == 200
        assert "auth off" in "".join(served.lines)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("", False), ("10.1.2.3", False), ("192.168.0.7", False),
    ("no-such-host.invalid", False),
])
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_setting_from_the_environment_allows_it_too(tmp_path: Path) -> None:
    exposed = Settings.load(env={"WINGSPAN_HOME": str(tmp_path), "WINGSPAN_HTTP_HOST": "0.0.0.0"})
    with pytest.raises(ConfigError, match=r"refusing to listen on --http-host 0\.0\.0\.0"):
        check_exposure(exposed, auth_required=False)
    check_exposure(Settings.load(env={"WINGSPAN_HOME": str(tmp_path), "WINGSPAN_HTTP_HOST": "0.0.0.0",
                                      "WINGSPAN_INSECURE": "1"}), auth_required=False)
    check_exposure(exposed, auth_required=True)


def test_the_s3_secret_key_is_not_a_flag(tmp_path: Path) -> None:
    done = _serve("--storage", "s3://bucket", "--s3-secret-key", "hunter2", home=tmp_path / "home")
    assert done.returncode == 2
    assert "--s3-secret-key is not accepted" in done.stderr
    assert "WINGSPAN_S3_SECRET_KEY" in done.stderr and "--s3-secret-key-file" in done.stderr


def test_the_s3_secret_key_comes_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "s3-secret"
    secret.write_text("hunter2\n")
    settings = Settings.load({"s3_secret_key_file": str(secret)}, env={"WINGSPAN_HOME": str(tmp_path)})
    assert settings.s3_secret_key == "hunter2"
    # the environment's secret wins over a file
    settings = Settings.load(env={"WINGSPAN_HOME": str(tmp_path), "WINGSPAN_S3_SECRET_KEY": "from-env",
                                  "WINGSPAN_S3_SECRET_KEY_FILE": str(secret)})
    assert settings.s3_secret_key == "from-env"
    with pytest.raises(ConfigError, match="cannot read the secret named by s3_secret_key_file"):
        Settings.load({"s3_secret_key_file": str(tmp_path / "missing")}, env={"WINGSPAN_HOME": str(tmp_path)})


def test_a_database_password_is_not_a_flag(tmp_path: Path) -> None:
    done = _serve("--db-url", "postgresql+asyncpg://u:hunter2@127.0.0.1:1/db", home=tmp_path / "home")
    assert done.returncode == 2
    assert "--db-url holds a password" in done.stderr and "WINGSPAN_DB_URL" in done.stderr
    assert "hunter2" not in done.stderr


async def test_the_verbose_log_shows_statements_but_never_their_values(tmp_path: Path) -> None:
    marker = "do-not-log-me-4b1d"
    async with wingspan_serve("-v", env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (served, url, _h, _p):
        http = httpx.AsyncClient(base_url=url, timeout=30)
        async with http:
            answer = await http.post("/api/v1/CreateProject",
                                     json={"project": {"id": "p1", "name": "p1", "description": marker}})
            assert answer.status_code == 200, answer.text
            listed = await http.post("/api/v1/ListProjects", json={})
            assert marker in listed.text
    log = "".join(served.lines)
    assert "INSERT INTO" in log  # -v does log SQL
    assert marker not in log
