"""Executions: create from a launch plan, a workflow or a task; inputs checked; get, list,
data, terminate, delete, retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    closure_of,
    entity_of,
    ident,
    launch_plan_request,
    literals,
    metadata_of,
    name_of,
    register_workflow_with_tasks,
    some,
    take_lease,
    task_request,
)
from wingspan.core.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from wingspan.core.model.execution import WorkflowPhase
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs, EngineRpcs
from wingspan.server.services.admin import AdminService


def execution_id(name: str, project: str = PROJECT) -> v1.ExecutionId:
    return v1.ExecutionId(project=project, domain=DOMAIN, name=name)


async def create(
    admin: AdminService,
    entity: v1.Identifier,
    inputs: v1.LiteralMap | None = None,
    name: str = "",
    project: str = PROJECT,
) -> v1.Execution:
    response = await AdminRpcs(admin).create_execution(
        v1.CreateExecutionRequest(
            project=project, domain=DOMAIN, name=name, spec=v1.ExecutionSpec(entity_id=entity, inputs=inputs)
        )
    )
    execution = some(response.execution)
    return execution


async def finish(
    admin: AdminService,
    name: str,
    phase: v1.WorkflowPhase = v1.WorkflowPhase.SUCCEEDED,
    at: datetime | None = None,
    project: str = PROJECT,
) -> None:
    await take_lease(admin, execution_id(name, project))
    await EngineRpcs(admin.events).create_workflow_event(
        v1.WorkflowExecutionEvent(
            execution_id=execution_id(name, project),
            producer_id=TEST_ENGINE,
            phase=phase,
            sequence=100,
            occurred_at=at,
            outputs=literals(o0=1) if phase == v1.WorkflowPhase.SUCCEEDED else None,
        )
    )


@pytest.fixture
async def registered(admin: AdminService) -> AdminService:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    await AdminRpcs(admin).register_launch_plan(launch_plan_request(flows.pipeline_plan, "v1"))
    await AdminRpcs(admin).register_launch_plan(launch_plan_request(flows.fixed_plan, "v1"))
    return admin


async def test_from_a_launch_plan_defaults_apply_and_inputs_can_be_read(registered: AdminService) -> None:
    execution = await create(registered, ident(3, "pipeline_plan", "v1"), literals(x=2), name="run1")
    assert name_of(execution) == "run1"
    assert closure_of(execution).phase == v1.WorkflowPhase.QUEUED
    assert closure_of(execution).workflow_id == ident(2, flows.pipeline.name, "v1")
    data = await AdminRpcs(registered).get_execution_data(v1.GetExecutionRequest(id=execution.id))
    assert data.inputs == literals(x=2, y=10)
    assert data.outputs is None
    got = await AdminRpcs(registered).get_execution(v1.GetExecutionRequest(id=execution.id))
    assert some(got.spec).entity_id == ident(3, "pipeline_plan", "v1")


async def test_fixed_inputs_apply_and_cannot_be_overridden(registered: AdminService) -> None:
    execution = await create(registered, ident(3, "fixed_plan", "v1"), literals(x=1))
    data = await AdminRpcs(registered).get_execution_data(v1.GetExecutionRequest(id=execution.id))
    assert data.inputs == literals(x=1, y=5)
    with pytest.raises(InvalidArgumentError, match="'y' is fixed"):
        await create(registered, ident(3, "fixed_plan", "v1"), literals(x=1, y=2))


async def test_inputs_are_checked_against_the_interface_and_nothing_is_stored(
    registered: AdminService,
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        await create(registered, ident(2, flows.pipeline.name, "v1"), literals(y="three", z=1))
    message = str(info.value)
    assert "'y' expects int, got a string value" in message
    assert "unknown input 'z'" in message
    assert "required input 'x' (int) is missing" in message
    listed = await AdminRpcs(registered).list_executions(v1.ListRequest(project=PROJECT, domain=DOMAIN))
    assert listed.executions == []


async def test_from_a_workflow_its_defaults_apply_and_the_latest_version_is_used(
    registered: AdminService,
) -> None:
    execution = await create(registered, ident(2, flows.pipeline.name, ""), literals(x=4))
    assert entity_of(execution).version == "v1"
    data = await AdminRpcs(registered).get_execution_data(v1.GetExecutionRequest(id=execution.id))
    assert data.inputs == literals(x=4, y=3)


async def test_from_a_single_task(registered: AdminService) -> None:
    execution = await create(registered, ident(1, flows.add.name, "v1"), literals(a=1, b=2))
    assert closure_of(execution).workflow_id is None
    with pytest.raises(InvalidArgumentError, match="'b'"):
        await create(registered, ident(1, flows.add.name, "v1"), literals(a=1))


async def test_a_launch_plan_without_version_runs_its_active_version(registered: AdminService) -> None:
    with pytest.raises(NotFoundError, match="no active version"):
        await create(registered, ident(3, "pipeline_plan", ""), literals(x=1))
    await AdminRpcs(registered).update_launch_plan_state(
        v1.UpdateLaunchPlanStateRequest(id=ident(3, "pipeline_plan", "v1"), state=v1.LaunchPlanState.ACTIVE)
    )
    execution = await create(registered, ident(3, "pipeline_plan", ""), literals(x=1))
    assert entity_of(execution).version == "v1"


async def test_names_are_unique_and_unknown_entities_not_found(registered: AdminService) -> None:
    await create(registered, ident(2, flows.pipeline.name, "v1"), literals(x=1), name="same")
    with pytest.raises(AlreadyExistsError):
        await create(registered, ident(2, flows.pipeline.name, "v1"), literals(x=1), name="same")
    with pytest.raises(NotFoundError):
        await create(registered, ident(2, "nothing", "v1"), literals(x=1))
    with pytest.raises(NotFoundError):
        await AdminRpcs(registered).get_execution(v1.GetExecutionRequest(id=execution_id("nope")))


async def test_large_inputs_go_to_the_blob_store_and_come_back(registered: AdminService) -> None:
    await AdminRpcs(registered).register_task(task_request(flows.shout, "v1"))
    text = "x" * 100_000
    execution = await create(registered, ident(1, flows.shout.name, "v1"), literals(text=text))
    data = await AdminRpcs(registered).get_execution_data(v1.GetExecutionRequest(id=execution.id))
    assert data.inputs == literals(text=text)
    blobs = [uri async for uri in registered.store.list_prefix(registered.store.root + "/executions/")]
    assert len(blobs) == 1


async def test_list_newest_first_with_pages_filters_and_sort(registered: AdminService) -> None:
    for i in range(7):
        await create(registered, ident(3, "pipeline_plan", "v1"), literals(x=i), name=f"e{i}")
    await create(registered, ident(2, flows.pipeline.name, "v1"), literals(x=1), name="direct")
    await finish(registered, "e1")
    await finish(registered, "e2", v1.WorkflowPhase.FAILED)
    names, token = [], ""
    while True:
        page = await AdminRpcs(registered).list_executions(
            v1.ListRequest(project=PROJECT, domain=DOMAIN, name="pipeline_plan", limit=3, token=token)
        )
        names += [some(e.id).name for e in page.executions]
        token = page.next_token
        if not token:
            break
    assert names == ["e6", "e5", "e4", "e3", "e2", "e1", "e0"]
    succeeded = await AdminRpcs(registered).list_executions(
        v1.ListRequest(
            project=PROJECT, domain=DOMAIN, filters=[v1.Filter(field="phase", values=["SUCCEEDED"])]
        )
    )
    assert [some(e.id).name for e in succeeded.executions] == ["e1"]
    ended = await AdminRpcs(registered).list_executions(
        v1.ListRequest(
            project=PROJECT,
            domain=DOMAIN,
            filters=[
                v1.Filter(
                    field="phase",
                    operator=v1.FilterOperator.IN,
                    values=["WORKFLOW_PHASE_SUCCEEDED", "failed"],
                )
            ],
        )
    )
    assert sorted(some(e.id).name for e in ended.executions) == ["e1", "e2"]
    later = datetime.now(UTC) + timedelta(hours=1)
    none_yet = await AdminRpcs(registered).list_executions(
        v1.ListRequest(
            project=PROJECT,
            domain=DOMAIN,
            filters=[
                v1.Filter(field="created_at", operator=v1.FilterOperator.GT, values=[later.isoformat()])
            ],
        )
    )
    assert none_yet.executions == []
    by_name = await AdminRpcs(registered).list_executions(
        v1.ListRequest(project=PROJECT, domain=DOMAIN, limit=2, sort=v1.Sort(key="name", ascending=True))
    )
    assert [some(e.id).name for e in by_name.executions] == ["direct", "e0"]
    with pytest.raises(InvalidArgumentError, match="another sort order"):
        await AdminRpcs(registered).list_executions(
            v1.ListRequest(project=PROJECT, domain=DOMAIN, token=by_name.next_token)
        )
    with pytest.raises(InvalidArgumentError, match="valid values"):
        await AdminRpcs(registered).list_executions(
            v1.ListRequest(
                project=PROJECT, domain=DOMAIN, filters=[v1.Filter(field="phase", values=["sleepy"])]
            )
        )


async def test_a_name_prefix_filter_matches_the_start_only_and_takes_wildcards_literally(
    registered: AdminService,
) -> None:
    for name in ("nightly-1", "nightly-2", "a-nightly", "night_x", "nightXx"):
        await create(registered, ident(3, "pipeline_plan", "v1"), literals(x=1), name=name)

    async def starting(prefix: str) -> list[str]:
        found = await AdminRpcs(registered).list_executions(v1.ListRequest(
            project=PROJECT, domain=DOMAIN, sort=v1.Sort(key="name", ascending=True),
            filters=[v1.Filter(field="name", operator=v1.FilterOperator.STARTS_WITH, values=[prefix])]))
        return [some(e.id).name for e in found.executions]

    assert await starting("nightly") == ["nightly-1", "nightly-2"]
    assert await starting("night_") == ["night_x"]  # "_" is no LIKE wildcard here
    with pytest.raises(InvalidArgumentError, match="'starts_with' applies to text fields"):
        await AdminRpcs(registered).list_executions(v1.ListRequest(
            project=PROJECT, domain=DOMAIN,
            filters=[v1.Filter(field="created_at", operator=v1.FilterOperator.STARTS_WITH,
                               values=["2026-01-01T00:00:00Z"])]))


async def test_terminate_then_delete_removes_rows_and_data(registered: AdminService) -> None:
    await AdminRpcs(registered).register_task(task_request(flows.shout, "v1"))
    execution = await create(registered, ident(1, flows.shout.name, "v1"), literals(text="y" * 50_000))
    with pytest.raises(FailedPreconditionError, match="terminate it"):
        await AdminRpcs(registered).delete_execution(v1.DeleteExecutionRequest(id=execution.id))
    aborting = await AdminRpcs(registered).terminate_execution(
        v1.TerminateExecutionRequest(id=execution.id, reason="stop")
    )
    assert closure_of(some(aborting.execution)).phase == v1.WorkflowPhase.ABORTING
    ended = await AdminRpcs(registered).terminate_execution(
        v1.TerminateExecutionRequest(id=execution.id, force=True))
    assert closure_of(some(ended.execution)).phase == v1.WorkflowPhase.ABORTED
    await take_lease(registered, execution.id)
    await EngineRpcs(registered.events).create_node_event(
        v1.NodeExecutionEvent(
            id=v1.NodeExecutionId(execution_id=execution.id, node_id="n0"),
            producer_id=TEST_ENGINE,
            phase=v1.NodePhase.ABORTED,
            sequence=1,
        )
    )
    await AdminRpcs(registered).delete_execution(v1.DeleteExecutionRequest(id=execution.id))
    with pytest.raises(NotFoundError):
        await AdminRpcs(registered).get_execution(v1.GetExecutionRequest(id=execution.id))
    assert [uri async for uri in registered.store.list_prefix(registered.store.root + "/executions/")] == []


async def test_retention_prunes_finished_executions_older_than_the_projects_limit(
    registered: AdminService,
) -> None:
    await AdminRpcs(registered).create_project(
        v1.CreateProjectRequest(
            project=v1.Project(id="short", retention=v1.RetentionPolicy(max_age=timedelta(days=1)))
        )
    )
    await register_workflow_with_tasks(registered, flows.pipeline, "v1", project="short")
    long_ago = datetime.now(UTC) - timedelta(days=3)
    for name in ("old", "recent", "running"):
        await create(
            registered,
            ident(2, flows.pipeline.name, "v1", project="short"),
            literals(x=1),
            name=name,
            project="short",
        )
    await create(registered, ident(2, flows.pipeline.name, "v1"), literals(x=1), name="old")  # default: kept
    await finish(registered, "old", at=long_ago, project="short")
    await finish(registered, "old", at=long_ago)
    await finish(registered, "recent", project="short")
    dry = await registered.prune(dry_run=True)
    assert [(e.id.project, e.id.name) for e in dry.executions] == [("short", "old")]
    assert len((await AdminRpcs(registered).list_executions(
        v1.ListRequest(project="short", domain=DOMAIN))).executions) == 3  # the dry run deleted nothing
    assert [e.id.name for e in (await registered.prune()).executions] == ["old"]
    left = await AdminRpcs(registered).list_executions(v1.ListRequest(project="short", domain=DOMAIN))
    assert sorted(some(e.id).name for e in left.executions) == ["recent", "running"]
    kept = await AdminRpcs(registered).list_executions(v1.ListRequest(project=PROJECT, domain=DOMAIN))
    assert [some(e.id).name for e in kept.executions] == ["old"]


async def test_concurrent_creates_get_distinct_generated_names(registered: AdminService) -> None:
    executions = await asyncio.gather(
        *(create(registered, ident(2, flows.pipeline.name, "v1"), literals(x=i)) for i in range(10))
    )
    assert len({name_of(e) for e in executions}) == 10


async def test_relaunch_runs_the_same_version_with_the_same_inputs(registered: AdminService) -> None:
    first = await create(registered, ident(3, "fixed_plan", "v1"), literals(x=3), name="first")
    again = await AdminRpcs(registered).relaunch_execution(
        v1.RelaunchExecutionRequest(id=first.id, name="again"))
    assert some(again.id).name == "again"
    assert entity_of(some(again.execution)) == entity_of(first)
    assert metadata_of(some(again.execution)).mode == v1.ExecutionMode.RELAUNCH
    assert metadata_of(some(again.execution)).reference_execution == first.id
    data = await AdminRpcs(registered).get_execution_data(v1.GetExecutionRequest(id=again.id))
    assert data.inputs == literals(x=3, y=5)


async def test_two_service_instances_on_one_database_register_and_ingest_concurrently(
    admin: AdminService, settings: object
) -> None:
    # a second process, as far as the database can tell: its own engines and connections
    other = await AdminService.open(settings)  # type: ignore[arg-type]
    try:
        await register_workflow_with_tasks(admin, flows.pipeline, "v1")
        requests = [task_request(flows.shout, "v2") for _ in range(6)]
        results = await asyncio.gather(
            *(AdminRpcs(s).register_task(r) for s, r in zip([admin, other] * 3, requests, strict=True))
        )
        assert sum(r.created for r in results) == 1
        execution = await create(admin, ident(2, flows.pipeline.name, "v1"), literals(x=1))
        await take_lease(admin, execution.id)
        events = [
            v1.WorkflowExecutionEvent(execution_id=execution.id, producer_id=TEST_ENGINE, phase=phase,
                                      sequence=s)
            for s, phase in enumerate([v1.WorkflowPhase.RUNNING, v1.WorkflowPhase.SUCCEEDED], start=1)
        ]
        recorded = await asyncio.gather(
            *(EngineRpcs(s.events).create_workflow_event(e) for e in events for s in (admin, other)))
        assert sum(r.recorded for r in recorded) == 2
        got = await AdminRpcs(other).get_execution(v1.GetExecutionRequest(id=execution.id))
        assert closure_of(got).phase == v1.WorkflowPhase.SUCCEEDED
    finally:
        await other.aclose()


async def test_large_templates_are_stored_in_the_blob_store(registered: AdminService) -> None:
    request = task_request(flows.shout, "big")
    request.template.metadata.docs = "d" * 50_000
    await AdminRpcs(registered).register_task(request)
    again = await AdminRpcs(registered).register_task(request)
    assert not again.created
    task = await AdminRpcs(registered).get_task(v1.GetEntityRequest(id=request.id))
    assert some(some(task.template).metadata).docs == "d" * 50_000
    blobs = [uri async for uri in registered.store.list_prefix(registered.store.root + "/entities/")]
    assert len(blobs) == 1


async def test_a_create_that_loses_on_its_name_leaves_no_data_behind(registered: AdminService) -> None:
    await AdminRpcs(registered).register_task(task_request(flows.shout, "v1"))
    entity = ident(1, flows.shout.name, "v1")
    await create(registered, entity, literals(text="a" * 20_000), name="taken")
    with pytest.raises(AlreadyExistsError):
        await create(registered, entity, literals(text="b" * 20_000), name="taken")
    blobs = [uri async for uri in registered.store.list_prefix(registered.store.root + "/executions/")]
    assert len(blobs) == 1
    data = await AdminRpcs(registered).get_execution_data(v1.GetExecutionRequest(id=execution_id("taken")))
    assert data.inputs == literals(text="a" * 20_000)


async def test_the_retention_loop_prunes_in_rounds(registered: AdminService) -> None:
    await AdminRpcs(registered).update_project(
        v1.UpdateProjectRequest(
            project=v1.Project(id=PROJECT, retention=v1.RetentionPolicy(max_age=timedelta(hours=1)))
        )
    )
    await create(registered, ident(2, flows.pipeline.name, "v1"), literals(x=1), name="old")
    await finish(registered, "old", at=datetime.now(UTC) - timedelta(days=1))
    await registered.run_retention(interval=0, rounds=2)
    left = await AdminRpcs(registered).list_executions(v1.ListRequest(project=PROJECT, domain=DOMAIN))
    assert left.executions == []


async def test_phase_counts_count_each_phase_of_one_project_and_domain(registered: AdminService) -> None:
    for i in range(3):
        await create(registered, ident(3, "pipeline_plan", "v1"), literals(x=i), name=f"c{i}")
    await finish(registered, "c1")
    counts = await registered.executions.phase_counts(PROJECT, DOMAIN)
    assert counts == {WorkflowPhase.QUEUED: 2, WorkflowPhase.SUCCEEDED: 1}
    assert await registered.executions.phase_counts(PROJECT, "production") == {}
