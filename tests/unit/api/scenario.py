"""Every RPC of the admin service, called over one transport (the same steps for gRPC and HTTP).

:func:`run_every_method` returns the names of the methods it called, so a test can
check that none is left out. The server runs no engine: the scenario records an
execution's events itself, as an engine does, through the internal engine service (gRPC,
with the engine credential, under a lease it takes).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import wingspan
from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    ident,
    launch_plan_request,
    literals,
    take_lease,
    task_request,
    workflow_request,
)
from tests.unit.api.served import engine_tokens
from tests.unit.api.transports import CallError
from wingspan.core.api_level import API_LEVEL
from wingspan.core.model import codec
from wingspan.protos import v1
from wingspan.server.api.engine_client import EngineClient
from wingspan.server.serve import ApiServer

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# the service layer may not offer these yet: called anyway, they must answer UNIMPLEMENTED or their result
MAYBE_PENDING = {"RecoverExecution", "GetTaskLogs"}


class Recorder:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.called: set[str] = set()

    async def __call__(self, name: str, request: Any) -> Any:
        self.called.add(name)
        return await self.client.call(name, request)

    async def stream(self, name: str, request: Any) -> list[Any]:
        self.called.add(name)
        return list(await self.client.stream(name, request))

    async def fails(self, code: str, name: str, request: Any) -> CallError:
        with pytest.raises(CallError) as info:
            await self(name, request)
        assert info.value.code == code, info.value
        return info.value


async def run_every_method(client: Any, server: ApiServer) -> set[str]:
    http_url = server.http_url
    call = Recorder(client)
    tag = client.name  # both transports share one server: keep their names apart

    version = await call("GetVersion", v1.GetVersionRequest())
    assert (version.version, version.api_level, version.http_address) == (
        wingspan.__version__, API_LEVEL, http_url)

    # ---- projects and domains
    new = v1.CreateProjectRequest(project=v1.Project(id=f"p-{tag}", name="P"))
    project = await call("CreateProject", new)
    assert project.id == f"p-{tag}"
    await call.fails("ALREADY_EXISTS", "CreateProject", new)
    bad = v1.CreateProjectRequest(project=v1.Project(id="a b"))
    await call.fails("INVALID_ARGUMENT", "CreateProject", bad)
    project.description = "changed"
    assert (await call("UpdateProject", v1.UpdateProjectRequest(project=project))).description == "changed"
    await call.fails("NOT_FOUND", "UpdateProject", v1.UpdateProjectRequest(project=v1.Project(id="nope")))
    listed = await call("ListProjects", v1.ListProjectsRequest(include_archived=True))
    assert f"p-{tag}" in [p.id for p in listed.projects]
    domains = await call("ListDomains", v1.ListDomainsRequest())
    assert [d.id for d in domains.domains] == ["development", "staging", "production"]
    settings = v1.ExecutionSettings(max_parallelism=3, labels=[v1.KeyValue(key="team", value="ml")])
    stored = await call("UpdateProjectSettings", v1.UpdateProjectSettingsRequest(
        project=f"p-{tag}", domain="staging", settings=settings))
    assert stored.settings == settings
    got = await call("GetProjectSettings", v1.GetProjectSettingsRequest(project=f"p-{tag}", domain="staging"))
    assert got.settings == settings
    await call.fails("NOT_FOUND", "GetProjectSettings", v1.GetProjectSettingsRequest(project="nope"))
    await call.fails("INVALID_ARGUMENT", "UpdateProjectSettings", v1.UpdateProjectSettingsRequest(
        project=f"p-{tag}", settings=v1.ExecutionSettings(queue=v1.ExecutionQueue(name="q"))))

    # ---- tasks, workflows, launch plans
    version_tag = f"v-{tag}"
    for task in (flows.add, flows.double):
        assert (await call("RegisterTask", task_request(task, version_tag))).created
    assert not (await call("RegisterTask", task_request(flows.add, version_tag))).created
    task_id = ident(1, flows.add.name, version_tag)
    got_task = await call("GetTask", v1.GetEntityRequest(id=task_id))
    assert got_task.template == codec.to_proto(flows.add.template) or got_task.template.interface is not None
    await call.fails("NOT_FOUND", "GetTask", v1.GetEntityRequest(id=ident(1, "missing", "v1")))
    # PostgreSQL cannot store a NUL in text: refused up front, on every backend alike
    await call.fails("INVALID_ARGUMENT", "GetTask", v1.GetEntityRequest(id=ident(1, "missing", "v\x00")))
    tasks = await call("ListTasks", v1.ListRequest(project=PROJECT, domain=DOMAIN, name=flows.add.name))
    assert version_tag in [t.id.version for t in tasks.tasks]
    too_many = v1.ListRequest(project=PROJECT, domain=DOMAIN, limit=5000)
    await call.fails("INVALID_ARGUMENT", "ListTasks", too_many)

    assert (await call("RegisterWorkflow", workflow_request(flows.pipeline, version_tag))).created
    wf_id = ident(2, flows.pipeline.name, version_tag)
    workflow = await call("GetWorkflow", v1.GetEntityRequest(id=wf_id))
    assert workflow.id.name == flows.pipeline.name and workflow.closure is not None
    workflows = await call("ListWorkflows", v1.ListRequest(project=PROJECT, domain=DOMAIN))
    assert flows.pipeline.name in [w.id.name for w in workflows.workflows]

    assert (await call("RegisterLaunchPlan", launch_plan_request(flows.pipeline_plan, version_tag))).created
    lp_id = ident(3, flows.pipeline_plan.name, version_tag)
    plan = await call("GetLaunchPlan", v1.GetEntityRequest(id=lp_id))
    assert plan.id.version == version_tag
    named = v1.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name=flows.pipeline_plan.name)
    activate = v1.UpdateLaunchPlanStateRequest(id=lp_id, state=v1.LaunchPlanState.ACTIVE)
    await call("UpdateLaunchPlanState", activate)
    active = await call("GetActiveLaunchPlan", v1.GetActiveLaunchPlanRequest(id=named))
    assert active.id.version == version_tag
    plans = await call("ListLaunchPlans", v1.ListRequest(project=PROJECT, domain=DOMAIN))
    assert flows.pipeline_plan.name in [p.id.name for p in plans.launch_plans]
    names = await call("ListNames", v1.ListNamesRequest(resource_type=v1.ResourceType.TASK,
                                                         list=v1.ListRequest(project=PROJECT, domain=DOMAIN)))
    assert flows.add.name in [e.id.name for e in names.entities]

    # ---- executions
    run = f"run-{tag}"
    created = await call("CreateExecution", v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=run,
        spec=v1.ExecutionSpec(entity_id=lp_id, inputs=literals(x=1))))
    execution_id = created.id
    assert execution_id.name == run
    await call.fails("INVALID_ARGUMENT", "CreateExecution", v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, spec=v1.ExecutionSpec(entity_id=lp_id, inputs=literals(x="one"))))
    got = await call("GetExecution", v1.GetExecutionRequest(id=execution_id))
    assert got.closure.phase == v1.WorkflowPhase.QUEUED
    executions = await call("ListExecutions", v1.ListRequest(project=PROJECT, domain=DOMAIN))
    assert run in [e.id.name for e in executions.executions]
    data = await call("GetExecutionData", v1.GetExecutionRequest(id=execution_id))
    assert data.inputs == literals(x=1, y=10)
    again = await call("RelaunchExecution", v1.RelaunchExecutionRequest(id=execution_id, name=f"again-{tag}"))
    assert again.id.name == f"again-{tag}"
    assert (await call("GetExecutionData", v1.GetExecutionRequest(id=again.id))).inputs == data.inputs

    # ---- events (recorded as the engine holding the lease), node and task executions
    await take_lease(server.admin, execution_id)
    assert server.engine_credential is not None
    node_id = v1.NodeExecutionId(execution_id=execution_id, node_id="n0")
    attempt = v1.TaskExecutionId(task_id=task_id, node_execution_id=node_id, attempt=0)
    async with EngineClient("127.0.0.1", server.grpc_port, engine_tokens(server)) as engine:
        assert (await engine.create_workflow_event(v1.WorkflowExecutionEvent(
            execution_id=execution_id, producer_id=TEST_ENGINE, phase=v1.WorkflowPhase.RUNNING, sequence=1,
            occurred_at=T0))).recorded
        assert (await engine.create_node_event(v1.NodeExecutionEvent(
            id=node_id, producer_id=TEST_ENGINE, phase=v1.NodePhase.RUNNING, sequence=2,
            occurred_at=T0 + timedelta(seconds=1)))).recorded
        assert (await engine.create_task_event(v1.TaskExecutionEvent(
            id=attempt, producer_id=TEST_ENGINE, phase=v1.TaskPhase.RUNNING, sequence=3,
            occurred_at=T0 + timedelta(seconds=2)))).recorded
    events = await call("ListEvents", v1.ListEventsRequest(execution_id=execution_id))
    assert len(events.events) == 3
    nodes = await call("ListNodeExecutions", v1.ListNodeExecutionsRequest(execution_id=execution_id))
    assert [n.id.node_id for n in nodes.node_executions] == ["n0"]
    node = await call("GetNodeExecution", v1.GetNodeExecutionRequest(id=node_id))
    assert node.closure.phase == v1.NodePhase.RUNNING
    await call("GetNodeExecutionData", v1.GetNodeExecutionRequest(id=node_id))
    attempts = await call("ListTaskExecutions", v1.ListTaskExecutionsRequest(node_execution_id=node_id))
    assert len(attempts.task_executions) == 1
    assert (await call("GetTaskExecution", v1.GetTaskExecutionRequest(id=attempt))).closure.phase == \
        v1.TaskPhase.RUNNING
    await call("GetTaskExecutionData", v1.GetTaskExecutionRequest(id=attempt))

    # ---- signals
    await call("RegisterWorkflow", workflow_request(flows.gated, version_tag))
    gated = await call("CreateExecution", v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=f"gated-{tag}",
        spec=v1.ExecutionSpec(entity_id=ident(2, flows.gated.name, version_tag), inputs=literals(x=1))))
    signals = await call("ListSignals", v1.ListSignalsRequest(execution_id=gated.id))
    (signal,) = signals.signals
    wrong_type = v1.SetSignalRequest(id=signal.id, value=v1.Literal(string="2"))
    await call.fails("INVALID_ARGUMENT", "SetSignal", wrong_type)
    await call("SetSignal", v1.SetSignalRequest(id=signal.id, value=v1.Literal(integer=2)))

    # ---- the methods the service layer may not offer yet
    missing = v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="missing")
    request: Any
    for name, request in (("RelaunchExecution", v1.RelaunchExecutionRequest(id=missing)),
                          ("RecoverExecution", v1.RecoverExecutionRequest(id=missing))):
        error = None
        try:
            await call(name, request)
        except CallError as exc:
            error = exc
        assert error is not None and error.code in ("NOT_FOUND", "UNIMPLEMENTED"), error
    for name, request in (
            ("WatchExecution", v1.WatchExecutionRequest(id=missing)),
            ("GetTaskLogs", v1.GetTaskLogsRequest(node_execution_id=v1.NodeExecutionId(
                execution_id=missing, node_id="n0")))):
        with pytest.raises(CallError) as info:
            await call.stream(name, request)
        assert info.value.code in ("NOT_FOUND", "UNIMPLEMENTED"), info.value

    # ---- terminate and delete
    await call.fails("FAILED_PRECONDITION", "DeleteExecution", v1.DeleteExecutionRequest(id=execution_id))
    archive = v1.UpdateExecutionRequest(id=execution_id, state=v1.ExecutionState.ARCHIVED)
    await call.fails("FAILED_PRECONDITION", "UpdateExecution", archive)
    terminate = v1.TerminateExecutionRequest(id=execution_id, reason="test", force=True)
    ended = await call("TerminateExecution", terminate)
    assert ended.execution.closure.phase == v1.WorkflowPhase.ABORTED
    await call.fails("FAILED_PRECONDITION", "TerminateExecution", terminate)
    notices = await call("ListNotifications", v1.ListNotificationsRequest(execution_id=execution_id))
    assert notices.notifications == []  # the execution asked for none
    watched = await call.stream("WatchExecution", v1.WatchExecutionRequest(id=execution_id))
    assert [e.workflow.sequence for e in watched if e.workflow is not None][:1] == [1]
    assert len(watched) >= 3  # the three events above, then the end it was forced to
    later = await call.stream("WatchExecution", v1.WatchExecutionRequest(id=execution_id, after_sequence=2))
    assert len(later) == len(watched) - 2
    assert (await call("UpdateExecution", archive)).closure.state == v1.ExecutionState.ARCHIVED
    await call("DeleteExecution", v1.DeleteExecutionRequest(id=execution_id))
    await call.fails("NOT_FOUND", "GetExecution", v1.GetExecutionRequest(id=execution_id))

    # ---- the data proxy: upload, then download, with plain HTTP on the signed URLs
    content = f"bundle of {tag}".encode() * 1000
    md5 = hashlib.md5(content).digest()
    upload = await call("CreateUploadLocation", v1.CreateUploadLocationRequest(
        project=PROJECT, domain=DOMAIN, filename="bundle.tar.gz", content_md5=md5,
        expires_in=timedelta(minutes=5)))
    assert upload.native_url.endswith(f"/{md5.hex()}/bundle.tar.gz")
    assert upload.expires_at > datetime.now(UTC)
    async with httpx.AsyncClient(timeout=30) as plain:
        put = await plain.put(upload.signed_url, content=content)
        assert put.status_code == 200, put.text
        download = await call("CreateDownloadLocation", v1.CreateDownloadLocationRequest(
            native_url=upload.native_url))
        fetched = await plain.get(download.signed_url)
        assert fetched.status_code == 200 and fetched.content == content
        # a download URL does not upload
        assert (await plain.put(download.signed_url, content=b"x")).status_code in (403, 405)
    await call.fails("INVALID_ARGUMENT", "CreateUploadLocation", v1.CreateUploadLocationRequest(
        project=PROJECT, domain=DOMAIN, filename="../escape"))
    await call.fails("NOT_FOUND", "CreateUploadLocation", v1.CreateUploadLocationRequest(
        project="nope", domain=DOMAIN, filename="a"))
    await call.fails("INVALID_ARGUMENT", "CreateDownloadLocation", v1.CreateDownloadLocationRequest(
        native_url="s3://elsewhere/key" if upload.native_url.startswith("file:") else "file:///etc/passwd"))
    await call.fails("NOT_FOUND", "CreateDownloadLocation", v1.CreateDownloadLocationRequest(
        native_url=upload.native_url.rsplit("/", 1)[0] + "/other"))

    # ---- role bindings (whether they are enforced: tests/unit/auth)
    binding = v1.RoleBinding(subject=f"alice-{tag}", role="contributor", project=PROJECT, domain=DOMAIN)
    await call("GrantRole", v1.GrantRoleRequest(binding=binding))
    await call("GrantRole", v1.GrantRoleRequest(binding=binding))  # again: no change, no error
    listed = await call("ListRoleBindings", v1.ListRoleBindingsRequest(subject=f"alice-{tag}"))
    assert list(listed.bindings) == [binding]
    await call("RevokeRole", v1.RevokeRoleRequest(binding=binding))
    await call.fails("NOT_FOUND", "RevokeRole", v1.RevokeRoleRequest(binding=binding))
    await call.fails("INVALID_ARGUMENT", "GrantRole", v1.GrantRoleRequest(binding=v1.RoleBinding(
        subject="bob", role="owner", project=PROJECT, domain=DOMAIN)))
    await call.fails("INVALID_ARGUMENT", "GrantRole", v1.GrantRoleRequest(binding=v1.RoleBinding(
        subject="bob", role="admin", project="../etc", domain=DOMAIN)))

    # ---- the audit log (what it records, and who may read it: tests/unit/auth/test_auth_audit.py)
    audited = await call("ListAuditEvents", v1.ListAuditEventsRequest(method="RevokeRole", limit=2))
    alice = f"alice-{tag}"
    assert [(e.name, e.result) for e in audited.events] == [(alice, "NOT_FOUND"), (alice, "OK")]
    await call.fails("INVALID_ARGUMENT", "ListAuditEvents", v1.ListAuditEventsRequest(token="not-a-token"))
    return call.called
