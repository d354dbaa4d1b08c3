"""A web page must not drive a server on the user's machine: what a browser could send (a
cross-origin simple POST, a DNS-rebound Host) is refused and changes nothing; configured
origins and hosts get proper answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from wingspan.core.config import Settings
from wingspan.server.serve import ApiServer

JSON = {"content-type": "application/json"}
CONSOLE = "http://console.example:3000"


@pytest.fixture
async def http(api_server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_server.http_url, timeout=30) as client:
        yield client


async def _project_ids(http: httpx.AsyncClient) -> set[str]:
    answer = await http.post("/api/v1/ListProjects", json={"includeArchived": True})
    assert answer.status_code == 200, answer.text
    return {p["id"] for p in answer.json()["projects"]}


async def test_a_cross_origin_simple_post_is_refused_and_changes_nothing(http: httpx.AsyncClient) -> None:
    """What `fetch(url, {method: "POST", mode: "no-cors", body: "{...}"})` on any page sends."""
    answer = await http.post("/api/v1/CreateProject", content=b'{"project": {"id": "pwned"}}', headers={
        "origin": "http://evil.example", "content-type": "text/plain;charset=UTF-8"})
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "PERMISSION_DENIED"
    assert "cross-origin request from 'http://evil.example' refused" in answer.json()["message"]
    assert "cors_origins" in answer.json()["message"]
    assert "access-control-allow-origin" not in answer.headers
    assert "pwned" not in await _project_ids(http)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_an_rpc_takes_json_only(http: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = b'{"project": {"id": "plain"}}'
    answer = await http.post("/api/v1/CreateProject", content=body, headers=headers)
    assert answer.status_code == 415, answer.text
    assert "Content-Type: application/json" in answer.json()["message"]
    assert "plain" not in await _project_ids(http)


async def test_a_dns_rebound_host_is_refused_everywhere(
        api_server: ApiServer, http: httpx.AsyncClient) -> None:
    """The page's own name now resolves to 127.0.0.1: its requests are same-origin to the browser,
    and only the Host header tells them apart."""
    port = urlsplit(api_server.http_url).port
    rebound = {"host": f"evil.example:{port}", "origin": f"http://evil.example:{port}"}
    created = await http.post("/api/v1/CreateProject", json={"project": {"id": "rebound"}},
                              headers=rebound)
    assert created.status_code == 403, created.text
    assert "Host 'evil.example:" in created.json()["message"] and "allowed_hosts" in created.json()["message"]
    for path in ("/schema", "/healthz", "/readyz", "/metrics"):
        read = await http.get(path, headers={"host": "evil.example"})
        assert read.status_code == 403, (path, read.text)
    assert "rebound" not in await _project_ids(http)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST:1"])
async def test_loopback_names_are_served_with_or_without_a_port(http: httpx.AsyncClient, host: str) -> None:
    assert (await http.get("/healthz", headers={"host": host})).status_code == 200


async def test_the_server_own_origin_is_same_origin(api_server: ApiServer, http: httpx.AsyncClient) -> None:
    answer = await http.post("/api/v1/ListDomains", json={}, headers={"origin": api_server.http_url})
    assert answer.status_code == 200, answer.text


async def test_health_metrics_and_schema_need_no_content_type(http: httpx.AsyncClient) -> None:
    for path in ("/schema", "/healthz", "/readyz", "/metrics"):
        assert (await http.get(path)).status_code == 200, path


async def test_a_wrong_method_is_told_which_ones_the_path_takes(http: httpx.AsyncClient) -> None:
    for method in ("GET", "PUT", "TRACE"):
        answer = await http.request(method, "/api/v1/ListProjects")
        assert answer.status_code == 405
        assert "POST" in answer.headers["allow"]
        assert "it takes POST" in answer.json()["message"]
    assert "GET" in (await http.post("/healthz", headers=JSON, content=b"{}")).headers["allow"]


@pytest.fixture
async def configured(tmp_path: Path) -> AsyncIterator[ApiServer]:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0,
                        cors_origins=CONSOLE + ",https://b.example", allowed_hosts="wingspan.internal")
    async with ApiServer(settings, grace=2, engine=False) as server:
        yield server


async def test_a_configured_origin_gets_cors_answers_and_a_configured_host_is_served(
        configured: ApiServer) -> None:
    async with httpx.AsyncClient(base_url=configured.http_url, timeout=30) as http:
        preflight = await http.options("/api/v1/CreateProject", headers={
            "origin": CONSOLE, "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert preflight.status_code == 204, preflight.text
        assert preflight.headers["access-control-allow-origin"] == CONSOLE
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "content-type" in preflight.headers["access-control-allow-headers"]
        created = await http.post("/api/v1/CreateProject", json={"project": {"id": "fromconsole"}},
                                  headers={"origin": CONSOLE})
        assert created.status_code == 200, created.text
        assert created.headers["access-control-allow-origin"] == CONSOLE
        assert "Origin" in created.headers["vary"]
        refused = await http.options("/api/v1/CreateProject", headers={
            "origin": "http://evil.example", "access-control-request-method": "POST"})
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
        named = await http.get("/healthz", headers={"host": "wingspan.internal:8080"})
        assert named.status_code == 200
        assert (await http.get("/healthz", headers={"host": "other.internal"})).status_code == 403
