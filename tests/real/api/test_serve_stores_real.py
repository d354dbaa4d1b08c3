"""`wingspan serve --storage abfs://...` and `--storage gs://...`: the Azure and GCS stores chosen
on the command line, their endpoints and accounts from options, the Azure key from the
environment (never a flag); an upload and a download through the served data proxy."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.real.stores import TEST_BUCKET, TokenEndpoint
from tests.unit.api.served import wingspan_serve

pytestmark = pytest.mark.real


async def round_trip(http_url: str, root: str) -> None:
    async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
        assert (await http.get("/readyz")).status_code == 200
        location = (await http.post("/api/v1/CreateUploadLocation", json={
            "project": "default", "domain": "development", "filename": "data.bin"})).json()
        assert location["nativeUrl"].startswith(f"{root}/uploads/")
        put = await http.put(location["signedUrl"], content=b"served", headers=location.get("headers", {}))
        assert put.status_code in (200, 201), put.text
        download = (await http.post("/api/v1/CreateDownloadLocation", json={
            "nativeUrl": location["nativeUrl"]})).json()
        assert (await http.get(download["signedUrl"])).content == b"served"


async def test_serve_on_azure(azurite_env: dict[str, str], tmp_path: Path) -> None:
    root = f"abfs://{TEST_BUCKET}/{uuid.uuid4().hex[:12]}"
    env = {"WINGSPAN_HOME": str(tmp_path / "home"),
           "WINGSPAN_AZURE_ACCOUNT_KEY": azurite_env["WINGSPAN_TEST_AZURE_ACCOUNT_KEY"]}
    async with wingspan_serve("--storage", root,
                              "--azure-account", azurite_env["WINGSPAN_TEST_AZURE_ACCOUNT"],
                              "--azure-endpoint", azurite_env["WINGSPAN_TEST_AZURE_ENDPOINT"],
                              env=env) as (server, http_url, _, _):
        await round_trip(http_url, root)
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.process.wait(), 30) == 0


async def test_serve_on_gcs(fakegcs_env: dict[str, str], gcs_token_endpoint: TokenEndpoint,
                            tmp_path: Path) -> None:
    root = f"gs://{TEST_BUCKET}/{uuid.uuid4().hex[:12]}"
    # the endpoint serves the whole session: tests/real/test_blob_stores.py has it refuse a wrong
    # account on purpose, sometimes before this test (as when pytest-xdist hands it out first)
    refused_before = len(gcs_token_endpoint.refused)
    async with wingspan_serve("--storage", root, "--gcs-endpoint", fakegcs_env["WINGSPAN_TEST_GCS_ENDPOINT"],
                              "--gcs-credentials-file", str(gcs_token_endpoint.credentials_file),
                              "--gcs-project", fakegcs_env["WINGSPAN_TEST_GCS_PROJECT"],
                              env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (server, http_url, _, _):
        await round_trip(http_url, root)
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.process.wait(), 30) == 0
    assert gcs_token_endpoint.refused[refused_before:] == []


def test_the_azure_key_is_not_a_flag(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0",
         "--storage", "abfs://container", "--azure-account-key", "hunter2"],
        env={"WINGSPAN_HOME": str(tmp_path / "home"), "PATH": ""}, capture_output=True, text=True,
        timeout=60, check=False)
    assert done.returncode == 2
    assert "--azure-account-key is not accepted" in done.stderr and "--azure-account-key-file" in done.stderr
