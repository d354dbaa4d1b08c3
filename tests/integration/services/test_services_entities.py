"""Projects, domains, and registration of tasks, workflows and launch plans."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    ident,
    launch_plan_request,
    register_workflow_with_tasks,
    some,
    task_request,
    workflow_request,
)
from wingspan.core.config import Settings
from wingspan.core.errors import (
    AlreadyExistsError,
    CompilationError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from wingspan.core.model import codec
from wingspan.core.model.record import replace
from wingspan.protos import v1
from wingspan.server.api.grpc_server import DEFAULT_MAX_MESSAGE_BYTES, LimitedCodec
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.services.admin import AdminService


async def test_default_project_and_domains_exist_from_the_start(admin: AdminService) -> None:
    projects = await AdminRpcs(admin).list_projects(v1.ListProjectsRequest())
    assert [p.id for p in projects.projects] == ["default"]
    domains = await AdminRpcs(admin).list_domains(v1.ListDomainsRequest())
    assert [d.id for d in domains.domains] == ["development", "staging", "production"]


async def test_projects_create_update_archive_list(admin: AdminService) -> None:
    created = await AdminRpcs(admin).create_project(
        v1.CreateProjectRequest(
            project=v1.Project(
                id="ml",
                name="Machine learning",
                labels=[v1.KeyValue(key="team", value="ds")],
                retention=v1.RetentionPolicy(max_age=timedelta(days=30)),
            )
        )
    )
    assert some(created.retention).max_age == timedelta(days=30)
    with pytest.raises(AlreadyExistsError, match="'ml' already exists"):
        await AdminRpcs(admin).create_project(v1.CreateProjectRequest(project=v1.Project(id="ml")))
    with pytest.raises(InvalidArgumentError, match="project id"):
        await AdminRpcs(admin).create_project(v1.CreateProjectRequest(project=v1.Project(id="bad id")))
    created.description = "models"
    created.state = v1.ProjectState.ARCHIVED
    await AdminRpcs(admin).update_project(v1.UpdateProjectRequest(project=created))
    active = await AdminRpcs(admin).list_projects(v1.ListProjectsRequest())
    assert [p.id for p in active.projects] == ["default"]
    every = await AdminRpcs(admin).list_projects(v1.ListProjectsRequest(include_archived=True))
    assert [(p.id, p.description, p.state) for p in every.projects] == [
        ("default", "The project used when none is named.", v1.ProjectState.ACTIVE),
        ("ml", "models", v1.ProjectState.ARCHIVED),
    ]
    with pytest.raises(FailedPreconditionError, match="archived"):
        await AdminRpcs(admin).register_task(task_request(flows.add, "v1", project="ml"))
    with pytest.raises(NotFoundError):
        await AdminRpcs(admin).update_project(v1.UpdateProjectRequest(project=v1.Project(id="nope")))


async def test_projects_page_with_tokens(admin: AdminService) -> None:
    for i in range(5):
        await AdminRpcs(admin).create_project(v1.CreateProjectRequest(project=v1.Project(id=f"p{i}")))
    seen, token = [], ""
    while True:
        page = await AdminRpcs(admin).list_projects(v1.ListProjectsRequest(limit=2, token=token))
        seen += [p.id for p in page.projects]
        token = page.next_token
        if not token:
            break
    assert seen == ["default", "p0", "p1", "p2", "p3", "p4"]
    with pytest.raises(InvalidArgumentError, match="page token"):
        await AdminRpcs(admin).list_projects(v1.ListProjectsRequest(token="garbage!"))


async def test_registering_a_task_twice_is_a_no_op_and_other_content_a_conflict(admin: AdminService) -> None:
    first = await AdminRpcs(admin).register_task(task_request(flows.add, "v1"))
    again = await AdminRpcs(admin).register_task(task_request(flows.add, "v1"))
    assert first.created and not again.created and first.digest == again.digest
    other = task_request(flows.double, "v1")
    other.id.name = flows.add.name
    with pytest.raises(AlreadyExistsError, match="versions are immutable"):
        await AdminRpcs(admin).register_task(other)
    task = await AdminRpcs(admin).get_task(v1.GetEntityRequest(id=ident(1, flows.add.name, "v1")))
    assert task.digest == first.digest
    assert some(some(task.template).id).version == "v1" and some(some(task.template).id).project == PROJECT
    assert codec.from_proto(task.template).interface == flows.add.template.interface


async def test_concurrent_registrations_of_one_version_store_one_row(admin: AdminService) -> None:
    rpcs = AdminRpcs(admin)
    results = await asyncio.gather(*(rpcs.register_task(task_request(flows.add, "v1")) for _ in range(8)))
    assert sum(r.created for r in results) == 1
    assert len({r.digest for r in results}) == 1
    listed = await rpcs.list_tasks(v1.ListRequest(project=PROJECT, domain=DOMAIN, name=flows.add.name))
    assert len(listed.tasks) == 1


async def test_concurrent_registrations_of_different_content_give_one_winner_and_conflicts(
    admin: AdminService,
) -> None:
    def request(i: int) -> v1.RegisterTaskRequest:
        r: v1.RegisterTaskRequest = task_request(flows.add, "v1")
        assert r.template is not None and r.template.metadata is not None
        r.template.metadata.docs = f"variant {i}"
        return r

    results = await asyncio.gather(
        *(AdminRpcs(admin).register_task(request(i)) for i in range(6)), return_exceptions=True
    )
    assert sum(1 for r in results if isinstance(r, v1.RegisterResponse) and r.created) == 1
    assert all(isinstance(r, AlreadyExistsError) for r in results if not isinstance(r, v1.RegisterResponse))


async def test_a_workflow_is_compiled_on_registration(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    wf = await AdminRpcs(admin).get_workflow(v1.GetEntityRequest(id=ident(2, flows.pipeline.name, "v1")))
    assert some(some(some(wf.closure).primary).connections).order == ["n0", "n1"]
    assert {some(some(t.template).id).version for t in some(wf.closure).tasks} == {"v1"}
    again = await AdminRpcs(admin).register_workflow(workflow_request(flows.pipeline, "v1"))
    assert not again.created and again.digest == wf.digest


async def test_a_workflows_page_is_sent_with_its_stored_closures_as_they_are(admin: AdminService) -> None:
    """ListWorkflows' page is written in the wire format from the stored closures; a client reads
    what the page built message by message would have said."""
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    await register_workflow_with_tasks(admin, flows.pipeline, "v2")
    request = v1.ListRequest(project=PROJECT, domain=DOMAIN, name=flows.pipeline.name, limit=1)
    first = await AdminRpcs(admin).list_workflows(request)
    wire = LimitedCodec(DEFAULT_MAX_MESSAGE_BYTES)
    sent = wire.decode(wire.encode(first, v1.ListWorkflowsResponse), v1.ListWorkflowsResponse)
    assert sent == first.message()
    assert [some(w.id).version for w in sent.workflows] == ["v2"] and sent.next_token
    got = await AdminRpcs(admin).get_workflow(v1.GetEntityRequest(id=ident(2, flows.pipeline.name, "v2")))
    assert sent.workflows[0].closure == got.closure
    request.token = sent.next_token
    last = await AdminRpcs(admin).list_workflows(request)
    last_sent = wire.decode(wire.encode(last, v1.ListWorkflowsResponse), v1.ListWorkflowsResponse)
    assert last_sent == last.message()
    assert [some(w.id).version for w in last_sent.workflows] == ["v1"] and not last_sent.next_token


async def test_a_workflow_with_subworkflows_registers(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.outer, "v1")
    wf = await AdminRpcs(admin).get_workflow(v1.GetEntityRequest(id=ident(2, flows.outer.name, "v1")))
    assert [some(some(s.template).id).name for s in some(wf.closure).sub_workflows] == [flows.inner.name]


async def test_an_invalid_workflow_is_rejected_with_the_compilers_message_and_nothing_stored(
    admin: AdminService,
) -> None:
    # the tasks it calls are not registered
    with pytest.raises(CompilationError, match="add"):
        await AdminRpcs(admin).register_workflow(workflow_request(flows.pipeline, "v1"))
    await AdminRpcs(admin).register_task(task_request(flows.add, "v2"))
    await AdminRpcs(admin).register_task(task_request(flows.double, "v2"))
    bad = workflow_request(flows.pipeline, "v2")
    template = codec.from_proto(bad.template)
    node = template.nodes[1]
    wrong = replace(node, inputs=(replace(node.inputs[0], var="nope"),))
    bad.template = codec.to_proto(replace(template, nodes=(template.nodes[0], wrong)))
    with pytest.raises(CompilationError, match="nope"):
        await AdminRpcs(admin).register_workflow(bad)
    listed = (await AdminRpcs(admin).list_workflows(v1.ListRequest(project=PROJECT, domain=DOMAIN))).message()
    assert listed.workflows == []


async def test_missing_ids_are_invalid_arguments(admin: AdminService) -> None:
    request = task_request(flows.add, "")
    with pytest.raises(InvalidArgumentError, match="version is missing"):
        await AdminRpcs(admin).register_task(request)
    with pytest.raises(NotFoundError, match="domain 'qa'"):
        await AdminRpcs(admin).register_task(
            task_request(flows.add, "v1").__class__(
                id=ident(1, "t", "v1", domain="qa"), template=codec.to_proto(flows.add.template)
            )
        )
    with pytest.raises(NotFoundError, match="is not registered"):
        await AdminRpcs(admin).get_task(v1.GetEntityRequest(id=ident(1, "nothing", "v1")))


async def test_versions_list_newest_first_with_pages_and_filters(admin: AdminService) -> None:
    for i in range(5):
        await AdminRpcs(admin).register_task(task_request(flows.add, f"v{i}"))
    await AdminRpcs(admin).register_task(task_request(flows.double, "v0"))
    first = await AdminRpcs(admin).list_tasks(
        v1.ListRequest(project=PROJECT, domain=DOMAIN, name=flows.add.name, limit=3)
    )
    assert [some(t.id).version for t in first.tasks] == ["v4", "v3", "v2"]
    second = await AdminRpcs(admin).list_tasks(
        v1.ListRequest(project=PROJECT, domain=DOMAIN, name=flows.add.name, limit=3, token=first.next_token)
    )
    assert [some(t.id).version for t in second.tasks] == ["v1", "v0"] and second.next_token == ""
    ascending = await AdminRpcs(admin).list_tasks(
        v1.ListRequest(
            project=PROJECT, domain=DOMAIN, name=flows.add.name, sort=v1.Sort(key="version", ascending=True)
        )
    )
    assert [some(t.id).version for t in ascending.tasks] == ["v0", "v1", "v2", "v3", "v4"]
    filtered = await AdminRpcs(admin).list_tasks(
        v1.ListRequest(
            project=PROJECT,
            domain=DOMAIN,
            filters=[v1.Filter(field="version", operator=v1.FilterOperator.IN, values=["v0", "v3"])],
        )
    )
    assert sorted((some(t.id).name.rsplit(".", 1)[1], some(t.id).version) for t in filtered.tasks) == [
        ("add", "v0"),
        ("add", "v3"),
        ("double", "v0"),
    ]
    with pytest.raises(InvalidArgumentError, match="valid fields"):
        await AdminRpcs(admin).list_tasks(
            v1.ListRequest(
                project=PROJECT, domain=DOMAIN, filters=[v1.Filter(field="colour", values=["red"])]
            )
        )
    names = await AdminRpcs(admin).list_names(
        v1.ListNamesRequest(
            resource_type=v1.ResourceType.TASK, list=v1.ListRequest(project=PROJECT, domain=DOMAIN)
        )
    )
    assert [(some(e.id).name, e.latest_version) for e in names.entities] == [
        (flows.add.name, "v4"),
        (flows.double.name, "v0"),
    ]


async def test_launch_plans_register_and_one_version_per_name_is_active(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    await AdminRpcs(admin).register_launch_plan(launch_plan_request(flows.pipeline_plan, "v1"))
    spec = launch_plan_request(flows.pipeline_plan, "v2")
    spec.spec.workflow_id.version = "v1"
    await AdminRpcs(admin).register_launch_plan(spec)
    plan = await AdminRpcs(admin).get_launch_plan(v1.GetEntityRequest(id=ident(3, "pipeline_plan", "v1")))
    assert some(plan.closure).state == v1.LaunchPlanState.INACTIVE
    parameters = some(some(plan.closure).expected_inputs).parameters
    expected = {some(p.variable).name: (p.required, p.default) for p in parameters}
    assert expected == {"x": (True, None), "y": (False, v1.Literal(integer=10))}
    with pytest.raises(NotFoundError, match="no active version"):
        await AdminRpcs(admin).get_active_launch_plan(
            v1.GetActiveLaunchPlanRequest(
                id=v1.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name="pipeline_plan")
            )
        )
    for version in ("v1", "v2"):
        await AdminRpcs(admin).update_launch_plan_state(
            v1.UpdateLaunchPlanStateRequest(
                id=ident(3, "pipeline_plan", version), state=v1.LaunchPlanState.ACTIVE
            )
        )
    active = await AdminRpcs(admin).get_active_launch_plan(
        v1.GetActiveLaunchPlanRequest(
            id=v1.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name="pipeline_plan")
        )
    )
    assert some(active.id).version == "v2"
    listed = await AdminRpcs(admin).list_launch_plans(
        v1.ListRequest(project=PROJECT, domain=DOMAIN, filters=[v1.Filter(field="state", values=["active"])])
    )
    assert [some(p.id).version for p in listed.launch_plans] == ["v2"]
    await AdminRpcs(admin).update_launch_plan_state(
        v1.UpdateLaunchPlanStateRequest(id=ident(3, "pipeline_plan", "v2"), state=v1.LaunchPlanState.INACTIVE)
    )
    with pytest.raises(NotFoundError):
        await AdminRpcs(admin).get_active_launch_plan(
            v1.GetActiveLaunchPlanRequest(
                id=v1.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name="pipeline_plan")
            )
        )


async def test_concurrent_activations_leave_one_active_version(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    for version in ("a", "b", "c", "d"):
        request = launch_plan_request(flows.pipeline_plan, version)
        request.spec.workflow_id.version = "v1"
        await AdminRpcs(admin).register_launch_plan(request)
    results = await asyncio.gather(
        *(
            AdminRpcs(admin).update_launch_plan_state(
                v1.UpdateLaunchPlanStateRequest(
                    id=ident(3, "pipeline_plan", version), state=v1.LaunchPlanState.ACTIVE
                )
            )
            for version in "abcd"
        ),
        return_exceptions=True,
    )
    assert any(isinstance(r, v1.LaunchPlan) for r in results)
    listed = await AdminRpcs(admin).list_launch_plans(
        v1.ListRequest(project=PROJECT, domain=DOMAIN, filters=[v1.Filter(field="state", values=["active"])])
    )
    assert len(listed.launch_plans) == 1


async def test_a_launch_plan_of_an_unregistered_workflow_or_with_bad_inputs_is_rejected(
    admin: AdminService,
) -> None:
    with pytest.raises(FailedPreconditionError, match="register it first"):
        await AdminRpcs(admin).register_launch_plan(launch_plan_request(flows.pipeline_plan, "v1"))
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    bad = launch_plan_request(flows.fixed_plan, "v1")
    bad.spec.fixed_inputs.literals["y"] = v1.Literal(string="five")
    bad.spec.fixed_inputs.literals["z"] = v1.Literal(integer=1)
    with pytest.raises(InvalidArgumentError) as info:
        await AdminRpcs(admin).register_launch_plan(bad)
    assert "'y' does not fit" in str(info.value) and "'z' is not an input" in str(info.value)


async def test_the_domains_are_a_setting(settings: Settings) -> None:
    import dataclasses

    configured = dataclasses.replace(settings, domains="dev, prod")
    admin = await AdminService.open(configured)
    try:
        domains = await AdminRpcs(admin).list_domains(v1.ListDomainsRequest())
        assert [d.id for d in domains.domains] == ["dev", "prod"]
        with pytest.raises(NotFoundError, match="domains: dev, prod"):
            await AdminRpcs(admin).register_task(
                task_request(flows.add, "v1").__class__(
                    id=ident(1, "t", "v1", domain="staging"), template=codec.to_proto(flows.add.template)
                )
            )
    finally:
        await admin.aclose()
