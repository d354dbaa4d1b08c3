"""The HTTP side: malformed and oversized bodies, the OpenAPI document, health, readiness,
metrics, and the signed blob URLs of the local store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from tests.unit.api.conftest import MAX_MESSAGE_BYTES
from wingspan.core.config import Settings
from wingspan.core.storage.signing import UrlSigner
from wingspan.server.api.methods import methods
from wingspan.server.serve import ApiServer

JSON = {"content-type": "application/json"}
TEXT_LIMIT = Settings().max_text_chars


@pytest.fixture
async def http(api_server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_server.http_url, timeout=30) as client:
        yield client


async def _projects(http: httpx.AsyncClient) -> object:
    return (await http.post("/api/v1/ListProjects", json={"includeArchived": True})).json()


@pytest.mark.parametrize(("body", "says"), [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"project": {"id": "x", "colour": "red"}}', "CreateProjectRequest.project: unknown field 'colour'"),
    (b'{"project": {"id": 5}}', "CreateProjectRequest.project.id: expected a string, not an integer 5"),
    (b'{"project": {"id": "x", "state": "NOPE"}}', "state: expected one of PROJECT_STATE_ACTIVE"),
    (b'{"project": {"id": "x", "state": 1}}', "CreateProjectRequest.project.state: expected one of"),
    (b'{"project": {"id": "x", "retention": {"maxAge": "soon"}}}', "maxAge: expected a duration such as"),
    (b"[" * 100_000, "not valid JSON"),
    (b'{"project": {"id": "x", "description": "a\\u0000b"}}', "project.description: text may not hold a NUL"),
])
async def test_malformed_bodies_get_400_with_a_reason_and_change_nothing(
        http: httpx.AsyncClient, body: bytes, says: str) -> None:
    before = await _projects(http)
    response = await http.post("/api/v1/CreateProject", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "INVALID_ARGUMENT" and error["status"] == 400
    assert says in error["message"]
    assert await _projects(http) == before


async def test_bodies_above_the_limit_get_413(http: httpx.AsyncClient) -> None:
    body = json.dumps({"project": {"id": "big", "description": "x" * MAX_MESSAGE_BYTES}})
    response = await http.post("/api/v1/CreateProject", content=body, headers=JSON)
    assert response.status_code == 413
    assert response.json()["code"] == "RESOURCE_EXHAUSTED"
    assert "big" not in json.dumps(await _projects(http))


async def test_statuses_follow_the_error_kinds(http: httpx.AsyncClient) -> None:
    created = await http.post("/api/v1/CreateProject", json={"project": {"id": "ml"}})
    assert created.status_code == 200 and created.json()["id"] == "ml"
    again = await http.post("/api/v1/CreateProject", json={"project": {"id": "ml"}})
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_EXISTS")
    execution = {"project": "default", "domain": "development", "name": "nope"}
    missing = await http.post("/api/v1/GetExecution", json={"id": execution})
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    unknown = await http.post("/api/v1/NoSuchMethod", json={})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")
    wrong_verb = await http.get("/api/v1/ListProjects")
    assert wrong_verb.status_code == 405 and "code" in wrong_verb.json()


async def test_the_openapi_document_describes_every_offered_method(http: httpx.AsyncClient) -> None:
    for path in ("/schema", "/schema/openapi.json"):
        document = (await http.get(path)).json()
        assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for method in methods():
        if f"/api/v1/{method.name}" not in paths:  # only what the backend offers is documented
            assert (await http.post(f"/api/v1/{method.name}", json={})).status_code == 501
    project = document["components"]["schemas"]["wingspan.v1.Project"]
    assert set(project["properties"]) >= {"id", "name", "labels", "retention"}
    assert document["components"]["schemas"]["wingspan.v1.ProjectState"]["enum"][0] == "PROJECT_STATE_ACTIVE"


async def test_the_openapi_document_is_as_strict_as_the_server(http: httpx.AsyncClient) -> None:
    """Generic clients and fuzzers see the real contract: what the document refuses, the server
    refuses (and schemathesis checks the converse against a live server)."""
    document = (await http.get("/schema")).json()
    schemas = document["components"]["schemas"]
    assert document["paths"]["/api/v1/GetExecution"]["post"]["requestBody"]["required"] is True
    project = schemas["wingspan.v1.Project"]
    assert project["required"] == ["id"] and project["additionalProperties"] is False
    assert project["properties"]["id"]["pattern"] == "^([A-Za-z0-9_.\\-]+)$"
    assert project["properties"]["id"]["maxLength"] == 63
    assert project["properties"]["description"]["maxLength"] == TEXT_LIMIT
    assert schemas["wingspan.v1.GetExecutionRequest"]["required"] == ["id"]
    assert schemas["wingspan.v1.ListProjectsRequest"]["properties"]["limit"]["maximum"] == 1000
    assert schemas["wingspan.v1.Literal"]["maxProperties"] == 1
    assert "maxLength" not in schemas["wingspan.v1.Literal"]["properties"]["string"]  # user data
    names = schemas["wingspan.v1.ListNamesRequest"]["properties"]["resourceType"]["enum"]
    assert "RESOURCE_TYPE_UNSPECIFIED" not in names
    for body, says in [
        ({}, "GetExecutionRequest.id is missing"),
        ({"id": {"project": "default", "domain": "development"}}, "GetExecutionRequest.id.name is missing"),
        ({"id": {"project": "default", "domain": "development", "name": "a b"}},
         "GetExecutionRequest.id.name: 'a b' does not match"),
    ]:
        answer = await http.post("/api/v1/GetExecution", json=body)
        assert answer.status_code == 400 and says in answer.json()["message"], answer.text
    too_many = await http.post("/api/v1/ListProjects", json={"limit": 1001})
    assert too_many.status_code == 400 and "above the maximum of 1000" in too_many.json()["message"]


async def test_health_readiness_and_draining(api_server: ApiServer, http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    assert (await http.get("/readyz")).status_code == 200
    assert api_server.http_state is not None
    api_server.http_state.draining = True
    not_ready = await http.get("/readyz")
    assert not_ready.status_code == 503 and "shutting down" in not_ready.json()["message"]
    assert (await http.get("/healthz")).status_code == 200


async def test_metrics_count_calls_of_both_transports(api_server: ApiServer, http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/ListDomains", json={})
    await http.post("/api/v1/GetProject", json={})
    await http.post("/api/v1/GetExecution", json={})
    text = (await http.get("/metrics")).text
    assert 'wingspan_api_calls_total{code="OK",method="ListDomains",transport="http"} 1.0' in text
    invalid = 'wingspan_api_calls_total{code="INVALID_ARGUMENT",method="GetExecution",transport="http"} 1.0'
    assert invalid in text
    assert "wingspan_api_call_seconds_bucket" in text


async def test_signed_blob_urls_check_signature_expiry_and_method(
        api_server: ApiServer, http: httpx.AsyncClient) -> None:
    location = (await http.post("/api/v1/CreateUploadLocation", json={
        "project": "default", "domain": "development", "filename": "data.bin"})).json()
    url = location["signedUrl"]
    assert url.startswith(api_server.http_url + "/api/v1/blobs/uploads/default/development/")
    tampered = url.replace("data.bin", "other.bin")
    assert (await http.put(tampered, content=b"x")).status_code == 403
    assert (await http.put(url + "0", content=b"x")).status_code == 403
    assert (await http.get(url)).status_code == 403  # signed for PUT
    assert (await http.put(url, content=b"\x00payload")).status_code == 200
    signer = UrlSigner.from_settings(api_server.settings, base_url=api_server.http_url)
    key = urlsplit(url).path.split("/api/v1/blobs/", 1)[1]
    expired = signer.sign(key, method="GET", expires_in=timedelta(seconds=1), now=0)
    answer = await http.get(expired)
    assert answer.status_code == 403 and "expired" in answer.json()["message"]
    fresh = await http.get(signer.sign(key, method="GET"))
    assert fresh.status_code == 200 and fresh.content == b"\x00payload"
    absent = await http.get(signer.sign(key.replace("data.bin", "absent.bin"), method="GET"))
    assert absent.status_code == 404


async def test_numbers_out_of_range_and_oneofs_set_twice_are_refused(http: httpx.AsyncClient) -> None:
    negative = await http.post("/api/v1/ListProjects", json={"limit": -1})
    assert negative.status_code == 400 and "out of range for a uint32" in negative.json()["message"]
    signal = {"id": {"executionId": {"project": "default", "domain": "development", "name": "x"},
                     "signalId": "s"},
              "value": {"map": {"literals": {"a": {"integer": "1", "string": "one"}}}}}
    twice = await http.post("/api/v1/SetSignal", json=signal)
    assert twice.status_code == 400
    assert "value.map.literals['a']: set one field of 'value', not integer, string" in twice.json()["message"]
