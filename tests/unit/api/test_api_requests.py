"""Requests are checked whole, the same way on both transports, before any service runs: hand-made
protobuf bytes (wrong wire types, unknown fields and enum values), JSON of the wrong types, and
text above the limit are refused with a reason, and change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError

from wingspan.core.config import Settings
from wingspan.protos import v1
from wingspan.server.api.methods import SERVICE_NAME
from wingspan.server.serve import ApiServer

JSON = {"content-type": "application/json"}
TEXT_LIMIT = Settings().max_text_chars


class _Raw:
    """A message that is whatever bytes it was given."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:  # the protobuf method grpclib's codec calls
        return self.data


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    return bytes([number << 3 | wire_type]) + payload


def _nested(number: int, inner: bytes) -> bytes:
    return _field(number, 2, bytes([len(inner)]) + inner)


@pytest.fixture
async def channel(api_server: ApiServer) -> AsyncIterator[Channel]:
    channel = Channel("127.0.0.1", api_server.grpc_port)
    yield channel
    channel.close()


@pytest.fixture
async def http(api_server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_server.http_url, timeout=30) as client:
        yield client


async def _send(channel: Channel, method: str, data: bytes, reply: type[Any]) -> Any:
    async with channel.request(f"/{SERVICE_NAME}/{method}", Cardinality.UNARY_UNARY, _Raw, reply,
                               timeout=30) as stream:
        await stream.send_message(_Raw(data), end=True)
        return await stream.recv_message()


async def _projects(channel: Channel) -> Any:
    return await v1.AdminServiceStub(channel).list_projects(v1.ListProjectsRequest(include_archived=True))


# Project: id = 1 (string), description = 3 (string), state = 5 (enum)
_ID_X = _field(1, 2, b"\x01x")
_ID_DEFAULT = _field(1, 2, b"\x07default")


@pytest.mark.parametrize(("method", "project", "says"), [
    ("CreateProject", _ID_X + _field(3, 0, b"\x05"),
     "CreateProjectRequest.project.description: expected a string"),
    ("UpdateProject", _ID_DEFAULT + _field(3, 0, b"\x05"),
     "UpdateProjectRequest.project.description: expected a string"),
    ("CreateProject", _ID_X + _field(5, 0, b"\x63"), "CreateProjectRequest.project.state: 99 is not a value"),
    ("UpdateProject", _ID_DEFAULT + _field(5, 0, b"\x63"),
     "UpdateProjectRequest.project.state: 99 is not a value"),
])
async def test_a_wrong_wire_type_or_enum_value_is_refused_before_any_write(
        channel: Channel, method: str, project: bytes, says: str) -> None:
    """Before: the write was committed and the client was told UNKNOWN (the answer could not be
    encoded, after the commit)."""
    before = await _projects(channel)
    with pytest.raises(GRPCError) as info:
        await _send(channel, method, _nested(1, project), v1.Project)
    assert info.value.status == Status.INVALID_ARGUMENT, info.value
    assert says in (info.value.message or "")
    assert await _projects(channel) == before


async def test_a_message_field_with_a_scalar_wire_type_is_refused(channel: Channel) -> None:
    with pytest.raises(GRPCError) as info:
        await _send(channel, "CreateProject", _field(1, 0, b"\x05"), v1.Project)
    assert info.value.status == Status.INVALID_ARGUMENT
    assert "CreateProjectRequest.project: expected a Project" in (info.value.message or "")


@pytest.mark.parametrize("data", [_field(15, 0, b"\x01"), _field(9, 2, b"\x03abc"), _field(1, 2, b"\x02ab")])
async def test_garbage_bytes_are_not_an_empty_request(channel: Channel, data: bytes) -> None:
    """Unknown fields (or a number as bytes) used to read as an empty ListProjectsRequest."""
    with pytest.raises(GRPCError) as info:
        await _send(channel, "ListProjects", data, v1.ListProjectsResponse)
    assert info.value.status == Status.INVALID_ARGUMENT, info.value
    assert "ListProjectsRequest" in (info.value.message or "")


@pytest.mark.parametrize("body", [b'{"limit": 1.5}', b'{"limit": true}', b'{"limit": "2"}',
                                  b'{"limit": null}', b'{"include_archived": true}', b" \n\t ", b""])
async def test_json_of_the_wrong_type_and_blank_bodies_are_refused(
        http: httpx.AsyncClient, body: bytes) -> None:
    answer = await http.post("/api/v1/ListProjects", content=body, headers=JSON)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "INVALID_ARGUMENT"
    message = answer.json()["message"]
    assert "ListProjectsRequest" in message or "the body" in message, message


@pytest.mark.parametrize("value", [{}, [], True, "1.5"])
async def test_a_float_of_the_wrong_json_type_is_refused(http: httpx.AsyncClient, value: object) -> None:
    """An object for a float used to fail as 500 (the check looked it up in a set of words)."""
    answer = await http.post("/api/v1/SetSignal", headers=JSON, json={
        "id": {"executionId": {"project": "default", "domain": "development", "name": "nope"},
               "signalId": "s"},
        "value": {"float": value}})
    assert answer.status_code == 400, answer.text
    assert "SetSignalRequest.value.float: expected a number" in answer.json()["message"]


async def test_a_retention_under_a_second_is_refused_before_the_service(http: httpx.AsyncClient) -> None:
    answer = await http.post("/api/v1/CreateProject", headers=JSON, json={
        "project": {"id": "short", "retention": {"maxAge": "0.5s"}}})
    assert answer.status_code == 400, answer.text
    assert "CreateProjectRequest.project.retention.max_age: 0.5s is shorter than" in answer.json()["message"]
    schemas = (await http.get("/schema")).json()["components"]["schemas"]
    assert schemas["wingspan.v1.RetentionPolicy"]["properties"]["maxAge"]["pattern"].startswith("^([1-9]")


async def test_sixty_four_bit_integers_may_be_strings_or_numbers(http: httpx.AsyncClient) -> None:
    for after in ("7", 7):
        answer = await http.post("/api/v1/ListEvents", headers=JSON, json={
            "executionId": {"project": "default", "domain": "development", "name": "nope"},
            "afterSequence": after})
        assert answer.status_code == 404, answer.text  # read as a number: the execution is looked up


async def test_text_above_the_limit_is_refused_on_both_transports(
        channel: Channel, http: httpx.AsyncClient) -> None:
    before = await _projects(channel)
    long = "x" * (TEXT_LIMIT + 1)
    with pytest.raises(GRPCError) as info:
        await v1.AdminServiceStub(channel).create_project(
            v1.CreateProjectRequest(project=v1.Project(id="long", description=long)))
    over_http = await http.post("/api/v1/CreateProject", headers=JSON, content=json.dumps(
        {"project": {"id": "long", "labels": [{"key": "k", "value": long}]}}))
    assert info.value.status == Status.INVALID_ARGUMENT
    says = f"{TEXT_LIMIT + 1} characters is above the limit of {TEXT_LIMIT}"
    assert "CreateProjectRequest.project.description: " + says in (info.value.message or "")
    assert over_http.status_code == 400
    assert "CreateProjectRequest.project.labels.value: " + says in over_http.json()["message"]
    assert await _projects(channel) == before
    exactly = await v1.AdminServiceStub(channel).create_project(
        v1.CreateProjectRequest(project=v1.Project(id="exactly", description="y" * TEXT_LIMIT)))
    assert len(exactly.description) == TEXT_LIMIT


async def test_literal_values_are_exempt_from_the_text_rules(http: httpx.AsyncClient) -> None:
    """A signal's value is user data: long text and NUL pass the checks (and meet NOT_FOUND here)."""
    answer = await http.post("/api/v1/SetSignal", headers=JSON, json={
        "id": {"executionId": {"project": "default", "domain": "development", "name": "nope"},
               "signalId": "s"},
        "value": {"string": "\x00" + "z" * TEXT_LIMIT}})
    assert answer.status_code == 404, answer.text
