"""The gRPC side: reflection and health for generic clients, size limits, malformed messages."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx
import pytest
from google.protobuf import descriptor_pb2
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse
from grpclib.reflection.v1.reflection_grpc import ServerReflectionStub
from grpclib.reflection.v1.reflection_pb2 import ServerReflectionRequest
from grpclib.reflection.v1alpha.reflection_grpc import ServerReflectionStub as AlphaReflectionStub
from grpclib.reflection.v1alpha.reflection_pb2 import ServerReflectionRequest as AlphaRequest

from tests.unit.api.conftest import MAX_MESSAGE_BYTES
from wingspan.core.model.projects import Domain
from wingspan.protos import v1
from wingspan.server.api.methods import SERVICE_NAME, methods
from wingspan.server.serve import ApiServer


@pytest.fixture
async def channel(api_server: ApiServer) -> Any:
    channel = Channel("127.0.0.1", api_server.grpc_port)
    yield channel
    channel.close()


async def test_reflection_lists_the_services_and_describes_every_method(channel: Channel) -> None:
    """What `grpcurl -plaintext HOST:PORT list` and `describe` ask."""
    async with ServerReflectionStub(channel).ServerReflectionInfo.open() as stream:
        await stream.send_message(ServerReflectionRequest(list_services=""))
        listed = await stream.recv_message()
        await stream.send_message(ServerReflectionRequest(file_containing_symbol=SERVICE_NAME))
        files = await stream.recv_message()
        await stream.send_message(ServerReflectionRequest(file_containing_symbol="wingspan.v1.Nope"))
        missing = await stream.recv_message()
        await stream.end()
    assert listed is not None and files is not None and missing is not None
    names = {s.name for s in listed.list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names
    protos = [descriptor_pb2.FileDescriptorProto.FromString(b)
              for b in files.file_descriptor_response.file_descriptor_proto]
    (service,) = [s for p in protos for s in p.service if s.name == "AdminService"]
    assert [m.name for m in service.method] == [m.name for m in methods()]
    assert missing.error_response.error_code == Status.NOT_FOUND.value
    # grpcurl falls back to the v1alpha protocol against older servers: both answer
    async with AlphaReflectionStub(channel).ServerReflectionInfo.open() as alpha:
        await alpha.send_message(AlphaRequest(list_services=""), end=True)
        old = await alpha.recv_message()
    assert old is not None and SERVICE_NAME in {s.name for s in old.list_services_response.service}


async def test_health_is_callable_with_reflection_alone(channel: Channel) -> None:
    """What `grpcurl -plaintext HOST:PORT grpc.health.v1.Health/Check` does: no local .proto, only
    the descriptors reflection serves, turned into message classes at run time."""
    from google.protobuf import descriptor_pool, message_factory

    async with ServerReflectionStub(channel).ServerReflectionInfo.open() as stream:
        await stream.send_message(ServerReflectionRequest(file_containing_symbol="grpc.health.v1.Health"),
                                  end=True)
        answer = await stream.recv_message()
    assert answer is not None
    assert not answer.HasField("error_response"), answer.error_response.error_message
    pool = descriptor_pool.DescriptorPool()
    for raw in answer.file_descriptor_response.file_descriptor_proto:
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(raw))
    check = pool.FindServiceByName("grpc.health.v1.Health").FindMethodByName("Check")
    request_type = message_factory.GetMessageClass(check.input_type)
    reply_type = message_factory.GetMessageClass(check.output_type)
    async with channel.request("/grpc.health.v1.Health/Check", Cardinality.UNARY_UNARY, request_type,
                               reply_type, timeout=30) as call:
        # made from a descriptor at run time: its fields are unknown to a type checker (how
        # types-protobuf types GetMessageClass changes between releases)
        await call.send_message(cast(Any, request_type)(service=SERVICE_NAME), end=True)
        reply = await call.recv_message()
    # a message class made from a descriptor at run time has no fields a type checker could see
    assert reply is not None and reply.status == HealthCheckResponse.SERVING  # type: ignore[attr-defined]


async def test_health_serves_then_drains(api_server: ApiServer, channel: Channel) -> None:
    health = HealthStub(channel)
    for service in ("", SERVICE_NAME):
        reply = await health.Check(HealthCheckRequest(service=service))
        assert reply.status == HealthCheckResponse.SERVING
    assert api_server.grpc is not None
    api_server.grpc.drain()
    reply = await health.Check(HealthCheckRequest(service=SERVICE_NAME))
    assert reply.status == HealthCheckResponse.NOT_SERVING


class _Raw:
    """A message that is whatever bytes it was given (to send malformed ones)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:  # the protobuf method grpclib's codec calls
        return self.data


async def test_malformed_and_oversized_messages_are_refused_and_change_nothing(channel: Channel) -> None:
    stub = v1.AdminServiceStub(channel)
    before = await stub.list_projects(v1.ListProjectsRequest(include_archived=True))
    big = v1.CreateProjectRequest(project=v1.Project(id="big", description="x" * MAX_MESSAGE_BYTES))
    for data, status in ((b"\xff\xff\xff\xff", Status.INVALID_ARGUMENT),
                         (bytes(big), Status.RESOURCE_EXHAUSTED)):
        async with channel.request(f"/{SERVICE_NAME}/CreateProject", Cardinality.UNARY_UNARY, _Raw,
                                   v1.Project, timeout=30) as stream:
            await stream.send_message(_Raw(data), end=True)
            with pytest.raises(GRPCError) as info:
                await stream.recv_message()
        assert info.value.status == status, info.value
        assert "CreateUploadLocation" in (info.value.message or "") or status != Status.RESOURCE_EXHAUSTED
    after = await stub.list_projects(v1.ListProjectsRequest(include_archived=True))
    assert after == before


async def test_errors_carry_their_status_and_message(channel: Channel) -> None:
    stub = v1.AdminServiceStub(channel)
    with pytest.raises(GRPCError) as info:
        await stub.get_task(v1.GetEntityRequest(id=v1.Identifier(
            resource_type=v1.ResourceType.TASK, project="default", domain="development", name="x",
            version="1")))
    assert info.value.status == Status.NOT_FOUND
    assert "is not registered" in (info.value.message or "")
    with pytest.raises(GRPCError) as info:
        await stub.get_task(v1.GetEntityRequest())
    assert info.value.status == Status.INVALID_ARGUMENT



async def test_an_answer_that_cannot_be_encoded_is_internal_not_unknown(
        api_server: ApiServer, channel: Channel, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """grpclib reports an error raised while sending as UNKNOWN, with no log: the answer is sent
    inside the error translation, so the client reads INTERNAL and the server log has why."""
    async def broken() -> list[Domain]:
        return [Domain(id=5)]  # type: ignore[arg-type]  # the point: it cannot encode

    monkeypatch.setattr(api_server.admin.projects, "list_domains", broken)
    with pytest.raises(GRPCError) as info:
        await v1.AdminServiceStub(channel).list_domains(v1.ListDomainsRequest())
    assert info.value.status == Status.INTERNAL, info.value
    assert "ListDomains: internal error" in (info.value.message or "")
    assert any("ListDomains failed" in r.getMessage() for r in caplog.records)


async def test_a_graceful_stop_lets_calls_in_flight_finish(
        api_server: ApiServer, channel: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    original = api_server.admin.projects.list_domains
    entered, release = asyncio.Semaphore(0), asyncio.Event()

    async def slow() -> list[Domain]:
        entered.release()
        await release.wait()
        domains: list[Domain] = await original()
        return domains

    monkeypatch.setattr(api_server.admin.projects, "list_domains", slow)
    async with httpx.AsyncClient(base_url=api_server.http_url, timeout=30) as http:
        over_grpc = asyncio.create_task(v1.AdminServiceStub(channel).list_domains(v1.ListDomainsRequest()))
        over_http = asyncio.create_task(http.post("/api/v1/ListDomains", json={}))
        for _ in range(2):
            await asyncio.wait_for(entered.acquire(), 30)
        stopping = asyncio.create_task(api_server.stop())
        for _ in range(50):  # let the stop go as far as it can: it must wait for the two calls
            await asyncio.sleep(0)
        assert api_server.http_state is not None and api_server.http_state.draining
        assert not stopping.done() and not over_grpc.done() and not over_http.done()
        release.set()
        assert len((await asyncio.wait_for(over_grpc, 30)).domains) == 3
        answer = await asyncio.wait_for(over_http, 30)
        assert answer.status_code == 200 and len(answer.json()["domains"]) == 3
        await asyncio.wait_for(stopping, 30)
