"""The engine's event channel is off the public API (issue #17, item 2): results cannot be forged.

An outsider tries to mark a queued execution SUCCEEDED with outputs of its choosing, over
both transports: the public admin service has no event RPC (gRPC UNIMPLEMENTED, HTTP no
route), the internal engine service wants the engine credential (UNAUTHENTICATED), and
with the credential only the lease holder's events are recorded. Each refusal leaves the
execution as it was.
"""

from __future__ import annotations

import stat
from typing import Any

import grpc
import httpx
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.reflection.v1.reflection_grpc import ServerReflectionStub
from grpclib.reflection.v1.reflection_pb2 import ServerReflectionRequest

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    closure_of,
    ident,
    literals,
    register_workflow_with_tasks,
    take_lease,
)
from tests.unit.api.served import engine_tokens
from wingspan._remote.tokens import ClientCredentials
from wingspan.core.config import Settings
from wingspan.protos import v1
from wingspan.server.api.engine_client import EngineClient
from wingspan.server.api.methods import ENGINE_SERVICE_NAME, SERVICE_NAME
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.auth.accounts import ENGINE_CLIENT_ID
from wingspan.server.engine.credential import SECRET_FILE_NAME, EngineCredential
from wingspan.server.serve import ApiServer

FORGED_OUTPUTS = literals(o0=666)
EVENT_RPCS = {
    "CreateWorkflowEvent": v1.WorkflowExecutionEvent,
    "CreateNodeEvent": v1.NodeExecutionEvent,
    "CreateTaskEvent": v1.TaskExecutionEvent,
}


async def queued(server: ApiServer, name: str) -> Any:
    admin = server.admin
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    created = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(2, flows.pipeline.name, "v1"), inputs=literals(x=1))))
    return created.id


def forged(execution_id: Any, producer: str = TEST_ENGINE) -> dict[str, Any]:
    """One event of each kind that would end the execution with the attacker's result."""
    node = v1.NodeExecutionId(execution_id=execution_id, node_id="n0")
    return {
        "CreateWorkflowEvent": v1.WorkflowExecutionEvent(
            execution_id=execution_id, producer_id=producer, phase=v1.WorkflowPhase.SUCCEEDED,
            outputs=FORGED_OUTPUTS, sequence=1),
        "CreateNodeEvent": v1.NodeExecutionEvent(
            id=node, producer_id=producer, phase=v1.NodePhase.SUCCEEDED, outputs=FORGED_OUTPUTS, sequence=2),
        "CreateTaskEvent": v1.TaskExecutionEvent(
            id=v1.TaskExecutionId(task_id=ident(1, flows.add.name, "v1"), node_execution_id=node),
            producer_id=producer, phase=v1.TaskPhase.SUCCEEDED, outputs=FORGED_OUTPUTS, sequence=3),
    }


async def assert_untouched(server: ApiServer, execution_id: Any) -> None:
    admin = server.admin
    got = await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(id=execution_id))
    assert closure_of(got).phase == v1.WorkflowPhase.QUEUED
    assert (await AdminRpcs(admin).list_events(v1.ListEventsRequest(execution_id=execution_id))).events == []
    nodes = await AdminRpcs(admin).list_node_executions(
        v1.ListNodeExecutionsRequest(execution_id=execution_id))
    assert nodes.node_executions == []


async def call(port: int, path: str, request: Any, metadata: dict[str, str] | None = None) -> str:
    """A unary call by path with grpcio, as any gRPC client makes it without our stubs; returns
    the status name (grpclib's own client cannot read the server's "method not found")."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        rpc = channel.unary_unary(path, request_serializer=bytes, response_deserializer=bytes)
        try:
            await rpc(request, timeout=30, metadata=tuple((metadata or {}).items()))
        except grpc.aio.AioRpcError as exc:
            return f"{exc.code().name}: {exc.details()}"
    return "OK"


async def test_the_public_grpc_service_has_no_event_rpc(api_server: ApiServer) -> None:
    execution_id = await queued(api_server, "forged-grpc")
    for name, event in forged(execution_id).items():
        status = await call(api_server.grpc_port, f"/wingspan.v1.AdminService/{name}", event)
        assert status.startswith("UNIMPLEMENTED"), (name, status)
    await assert_untouched(api_server, execution_id)


async def test_reflection_does_not_list_the_engine_service(api_server: ApiServer) -> None:
    channel = Channel("127.0.0.1", api_server.grpc_port)
    try:
        async with ServerReflectionStub(channel).ServerReflectionInfo.open() as stream:
            await stream.send_message(ServerReflectionRequest(list_services=""), end=True)
            listed = await stream.recv_message()
    finally:
        channel.close()
    assert listed is not None
    names = {s.name for s in listed.list_services_response.service}
    assert SERVICE_NAME in names and ENGINE_SERVICE_NAME not in names


async def test_the_http_api_has_no_event_route(api_server: ApiServer) -> None:
    execution_id = await queued(api_server, "forged-http")
    async with httpx.AsyncClient(base_url=api_server.http_url, timeout=30) as client:
        for name, event in forged(execution_id).items():
            response = await client.post(f"/api/v1/{name}", json=event.to_dict())
            assert response.status_code in (404, 405), (name, response.status_code, response.text)
        schema = (await client.get("/schema/openapi.json")).json()
    await assert_untouched(api_server, execution_id)
    assert not [path for path in schema["paths"] if "Event" in path and "List" not in path]


@pytest.mark.parametrize("metadata", [
    None,
    {"authorization": "Bearer not-the-engine-token-but-long-enough-to-look-like-one"},
    {"authorization": "not-even-a-scheme"},
], ids=["none", "wrong-token", "malformed"])
async def test_the_engine_service_refuses_a_caller_without_the_credential(
        api_server: ApiServer, metadata: dict[str, str] | None) -> None:
    execution_id = await queued(api_server, "no-credential")
    await take_lease(api_server.admin, execution_id)  # even the lease holder's name does not help
    for name, event in forged(execution_id).items():
        status = await call(api_server.grpc_port, f"/wingspan.v1.EngineService/{name}", event, metadata)
        assert status.startswith("UNAUTHENTICATED") and "service account" in status, (name, status)
    got = await AdminRpcs(api_server.admin).get_execution(v1.GetExecutionRequest(id=execution_id))
    assert closure_of(got).phase == v1.WorkflowPhase.QUEUED
    listed = await AdminRpcs(api_server.admin).list_events(v1.ListEventsRequest(execution_id=execution_id))
    assert listed.events == []


async def test_the_engine_service_refuses_a_sender_without_the_lease(api_server: ApiServer) -> None:
    execution_id = await queued(api_server, "not-the-holder")
    assert api_server.engine_credential is not None
    async with EngineClient("127.0.0.1", api_server.grpc_port, engine_tokens(api_server)) as engine:
        calls = {"CreateWorkflowEvent": engine.create_workflow_event,
                 "CreateNodeEvent": engine.create_node_event, "CreateTaskEvent": engine.create_task_event}
        # nobody holds the lease; then another replica holds it; then the sender's ran out
        for holder, seconds in (("", 0.0), ("replica-a", 600.0), (TEST_ENGINE, -1.0)):
            if holder:
                await take_lease(api_server.admin, execution_id, holder, seconds)
            for name, event in forged(execution_id).items():
                with pytest.raises(GRPCError) as info:
                    await calls[name](event)
                assert info.value.status is Status.FAILED_PRECONDITION, (name, holder, info.value)
                assert f"replica {TEST_ENGINE!r} does not hold its lease" in (info.value.message or "")
            await assert_untouched(api_server, execution_id)
        await take_lease(api_server.admin, execution_id, TEST_ENGINE)
        for name, event in forged(execution_id, producer="").items():
            with pytest.raises(GRPCError) as info:
                await calls[name](event)
            assert info.value.status is Status.INVALID_ARGUMENT, (name, info.value)
            assert "no sender" in (info.value.message or "")
    await assert_untouched(api_server, execution_id)


async def test_the_lease_holder_records_its_events(api_server: ApiServer) -> None:
    execution_id = await queued(api_server, "holder")
    await take_lease(api_server.admin, execution_id)
    assert api_server.engine_credential is not None
    async with EngineClient("127.0.0.1", api_server.grpc_port, engine_tokens(api_server)) as engine:
        events = forged(execution_id)
        assert (await engine.create_node_event(events["CreateNodeEvent"])).recorded
        assert (await engine.create_task_event(events["CreateTaskEvent"])).recorded
        assert (await engine.create_workflow_event(events["CreateWorkflowEvent"])).recorded
        assert not (await engine.create_workflow_event(events["CreateWorkflowEvent"])).recorded  # idempotent
    admin = api_server.admin
    got = await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(id=execution_id))
    assert closure_of(got).phase == v1.WorkflowPhase.SUCCEEDED
    data = await AdminRpcs(admin).get_execution_data(v1.GetExecutionRequest(id=execution_id))
    assert data.outputs == FORGED_OUTPUTS
    listed = await AdminRpcs(admin).list_events(v1.ListEventsRequest(execution_id=execution_id))
    assert len(listed.events) == 3


async def test_the_secret_is_made_once_private_and_reused(tmp_path: Any) -> None:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0)
    path = settings.home / SECRET_FILE_NAME
    async with ApiServer(settings, grace=1, engine=False) as first:
        made = path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert first.engine_credential is not None and first.engine_credential.secret == made.strip()
        assert made.strip() not in repr(first.engine_credential)
    async with ApiServer(settings, grace=1, engine=False) as second:
        assert path.read_text() == made
        credential = EngineCredential.load(settings.home)
        tokens = ClientCredentials(ENGINE_CLIENT_ID, credential.secret, http_url=second.http_url)
        async with EngineClient("127.0.0.1", second.grpc_port, tokens) as engine:
            execution_id = await queued(second, "after-restart")
            await take_lease(second.admin, execution_id)
            assert (await engine.create_workflow_event(forged(execution_id)["CreateWorkflowEvent"])).recorded


async def test_the_secret_is_not_served(api_server: ApiServer) -> None:
    path = api_server.settings.home / SECRET_FILE_NAME
    token = path.read_text().strip()
    channel = Channel("127.0.0.1", api_server.grpc_port)
    try:
        with pytest.raises(GRPCError) as info:
            await v1.AdminServiceStub(channel).create_download_location(
                v1.CreateDownloadLocationRequest(native_url=path.resolve().as_uri()), timeout=30)
        assert info.value.status is Status.INVALID_ARGUMENT, info.value
    finally:
        channel.close()
    async with httpx.AsyncClient(base_url=api_server.http_url, timeout=30) as client:
        for target in (f"/api/v1/blobs/..%2F{SECRET_FILE_NAME}", f"/api/v1/blobs/%2E%2E/{SECRET_FILE_NAME}",
                       f"/{SECRET_FILE_NAME}", f"/api/v1/{SECRET_FILE_NAME}"):
            response = await client.get(target)
            assert response.status_code >= 400 and token not in response.text, (target, response.status_code)
