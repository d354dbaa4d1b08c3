"""`wingspan serve` as users start it: a live server in a child process, probed over HTTP and
gRPC, fuzzed by schemathesis from its own OpenAPI document, and stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from grpclib.client import Channel

import wingspan
from tests.unit.api.served import Served, run_schemathesis, wingspan_serve
from wingspan.protos import v1


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Served, str, str, int]]:
    async with wingspan_serve(env={"WINGSPAN_HOME": str(tmp_path / "home")}) as found:
        yield found


async def test_serve_answers_on_both_ports_and_stops_gracefully(served: tuple[Served, str, str, int]) -> None:
    server, http_url, grpc_host, grpc_port = served
    async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
        assert (await http.get("/readyz")).status_code == 200
        version = (await http.post("/api/v1/GetVersion", json={})).json()
    channel = Channel(grpc_host, grpc_port)
    try:
        answer = await v1.AdminServiceStub(channel).get_version(v1.GetVersionRequest(), timeout=30)
    finally:
        channel.close()
    assert answer.version == version["version"] == wingspan.__version__
    assert answer.http_address == http_url
    server.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(server.process.wait(), 30) == 0
    await server.reader
    assert any("shutting down" in line for line in server.lines)


@pytest.mark.slow
async def test_schemathesis_with_every_check_finds_no_failure(
        served: tuple[Served, str, str, int], tmp_path: Path) -> None:
    server, http_url, _, _ = served
    returncode, report = await run_schemathesis(http_url, str(tmp_path))
    assert returncode == 0, report + "\n--- server log ---\n" + "".join(server.lines)
    assert "passed" in report and "failed" not in report and "Server error" not in report
    assert "negative_data_rejection" not in report and "Schema-violating request accepted" not in report
    assert not any(" ERROR " in line for line in server.lines), "".join(server.lines)


@pytest.mark.slow
async def test_schemathesis_with_a_token_of_a_server_that_requires_them_finds_no_failure(
        tmp_path: Path) -> None:
    env = {"WINGSPAN_HOME": str(tmp_path / "home")}
    made = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wingspan.cli", "users", "add-service-account", "fuzzer", "--admin",
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    secret, _ = await asyncio.wait_for(made.communicate(), 120)
    assert made.returncode == 0
    async with wingspan_serve("--auth", "required", env=env) as (server, http_url, _, _):
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(f"{http_url}/oauth2/token", data={"grant_type": "client_credentials"},
                                     auth=("fuzzer", secret.decode().strip()))
        token = answer.json()["access_token"]
        returncode, report = await run_schemathesis(http_url, str(tmp_path), token=token)
    assert returncode == 0, report + "\n--- server log ---\n" + "".join(server.lines)
    assert "passed" in report and "failed" not in report and "Server error" not in report
    assert not any(" ERROR " in line for line in server.lines), "".join(server.lines)


def test_serve_says_which_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "wingspan.cli", "serve", "--http-port", str(port), "--grpc-port", "0"],
            env={**os.environ, "WINGSPAN_HOME": str(tmp_path / "home")}, capture_output=True, text=True,
            timeout=60, check=False)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
