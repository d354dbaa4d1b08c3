"""The audit log (issue #18 item 7): every call that changes something is recorded, on both
transports, with its principal, method, target and result; admins list it through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx

from tests.unit.api.transports import HttpClient
from tests.unit.auth.test_auth_served import clients, refused, token_of
from wingspan.core.config import Settings
from wingspan.protos import v1
from wingspan.server.api.methods import methods
from wingspan.server.auth.audit import CHANGES, AuditLog, AuditQuery
from wingspan.server.auth.policy import NEEDS
from wingspan.server.auth.roles import Role
from wingspan.server.db.engine import Database
from wingspan.server.db.migrate import migrate
from wingspan.server.serve import ApiServer


def _rows(answer: v1.ListAuditEventsResponse) -> list[tuple[str, str, str, str, str, str, str]]:
    return [(e.principal, e.method, e.project, e.domain, e.name, e.version, e.result) for e in answer.events]


async def test_changes_are_recorded_with_who_what_and_how_on_both_transports(secured: ApiServer) -> None:
    ada, alice, vic, olga = [await token_of(secured, name) for name in ("ada", "alice", "vic", "olga")]
    task = v1.Identifier(resource_type=v1.ResourceType.TASK, project="default", domain="development",
                         name="audited.task", version="v1")
    for as_ada, as_alice, as_vic, as_olga in zip(clients(secured, ada), clients(secured, alice),
                                                 clients(secured, vic), clients(secured, olga), strict=True):
        try:
            transport = as_ada.name
            before = datetime.now(UTC)
            await as_ada.call("CreateProject", v1.CreateProjectRequest(
                project=v1.Project(id=f"audited-{transport}", name="audited")))
            await as_alice.call("CreateUploadLocation", v1.CreateUploadLocationRequest(
                project="default", domain="development", filename="bundle.tgz",
                content_md5=b"0123456789abcdef"))
            await refused(as_vic, "PERMISSION_DENIED", "RegisterTask", v1.RegisterTaskRequest(
                id=task, template=v1.TaskTemplate()))
            await refused(as_alice, "NOT_FOUND", "TerminateExecution", v1.TerminateExecutionRequest(
                id=v1.ExecutionId(project="default", domain="development", name="no-such-run")))
            await as_vic.call("ListProjects", v1.ListProjectsRequest())  # a read: not recorded

            listed = await as_ada.call("ListAuditEvents", v1.ListAuditEventsRequest(since=before))
            assert _rows(listed) == [
                ("alice", "TerminateExecution", "default", "development", "no-such-run", "", "NOT_FOUND"),
                ("vic", "RegisterTask", "default", "development", "audited.task", "v1", "PERMISSION_DENIED"),
                ("alice", "CreateUploadLocation", "default", "development", "bundle.tgz", "", "OK"),
                ("ada", "CreateProject", f"audited-{transport}", "", "", "", "OK"),
            ], transport
            assert all(e.at >= before for e in listed.events)

            # filters, and pages newest first
            by_vic = await as_ada.call("ListAuditEvents", v1.ListAuditEventsRequest(principal="vic"))
            assert {e.method for e in by_vic.events} == {"RegisterTask"}
            first = await as_ada.call("ListAuditEvents", v1.ListAuditEventsRequest(
                method="CreateUploadLocation", project="default", limit=1))
            # the gRPC pass came first: one such event then, two now
            assert len(first.events) == 1 and bool(first.next_token) == (transport == "http")
            rest = await as_ada.call("ListAuditEvents", v1.ListAuditEventsRequest(
                method="CreateUploadLocation", project="default", limit=1, token=first.next_token))
            assert rest.events[0].id < first.events[0].id or transport == "grpc"
            later = await as_ada.call("ListAuditEvents", v1.ListAuditEventsRequest(
                since=datetime.now(UTC) + timedelta(hours=1)))
            assert list(later.events) == []

            # an admin of one project lists that project's events only; nobody else lists any
            message = await refused(as_olga, "PERMISSION_DENIED", "ListAuditEvents",
                                    v1.ListAuditEventsRequest(project="default"))
            assert "needs the admin role in project 'default'" in message
            of_other = await as_olga.call("ListAuditEvents", v1.ListAuditEventsRequest(project="other"))
            assert _rows(of_other) == []
            await refused(as_vic, "PERMISSION_DENIED", "ListAuditEvents", v1.ListAuditEventsRequest())
        finally:
            for client in (as_ada, as_alice, as_vic, as_olga):
                await client.aclose()


async def test_role_changes_are_recorded_with_the_binding_as_target(secured: ApiServer) -> None:
    as_ada = HttpClient(secured.http_url, await token_of(secured, "ada"))
    try:
        binding = v1.RoleBinding(subject="vic", role="contributor", project="default", domain="development")
        await as_ada.call("GrantRole", v1.GrantRoleRequest(binding=binding))
        await as_ada.call("RevokeRole", v1.RevokeRoleRequest(binding=binding))
        await refused(as_ada, "NOT_FOUND", "RevokeRole", v1.RevokeRoleRequest(binding=binding))
        listed = await as_ada.call("ListAuditEvents", v1.ListAuditEventsRequest(principal="ada"))
    finally:
        await as_ada.aclose()
    assert [(e.method, e.name, e.version, e.result) for e in listed.events] == [
        ("RevokeRole", "vic", "contributor", "NOT_FOUND"), ("RevokeRole", "vic", "contributor", "OK"),
        ("GrantRole", "vic", "contributor", "OK")]


async def test_without_authentication_the_anonymous_caller_is_recorded(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0)
    async with ApiServer(settings, grace=2, engine=False) as server, \
            httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
        made = await http.post("/api/v1/CreateProject", json={"project": {"id": "p1", "name": "p1"}})
        assert made.status_code == 200, made.text
        listed = await http.post("/api/v1/ListAuditEvents", json={})
    assert listed.status_code == 200, listed.text
    assert [(e["principal"], e["method"], e["project"], e["result"]) for e in listed.json()["events"]] == [
        ("anonymous", "CreateProject", "p1", "OK")]


def test_every_method_that_changes_something_is_audited() -> None:
    # a method a contributor or admin needs changes something, but for the admin's reads
    reads_for_admins = {"ListRoleBindings", "ListAuditEvents"}
    needing_more_than_viewer = {m.name for m in methods() if m.name in NEEDS and NEEDS[m.name] > Role.VIEWER}
    assert needing_more_than_viewer - reads_for_admins == CHANGES


async def test_an_audit_listing_out_of_bounds_is_refused_before_it_runs(secured: ApiServer) -> None:
    for client in clients(secured, await token_of(secured, "ada")):
        try:
            for request, why in ((v1.ListAuditEventsRequest(limit=5000), "limit"),
                                 (v1.ListAuditEventsRequest(method="Create Project"), "method"),
                                 (v1.ListAuditEventsRequest(project="../etc"), "project")):
                message = await refused(client, "INVALID_ARGUMENT", "ListAuditEvents", request)
                assert why in message, message
        finally:
            await client.aclose()


async def test_calls_ending_together_are_recorded_in_shared_transactions(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'audit.sqlite'}")
    try:
        await migrate(db)
        audit = AuditLog(db)
        writes: list[str] = []
        db.on_transaction = lambda access, _held: writes.append(access) if access == "write" else None
        async with anyio.create_task_group() as group:
            for index in range(20):
                group.start_soon(audit.record, f"user{index}", "CreateExecution",
                                 ("default", "development", f"run{index}", ""), "OK")
        # each call returned once its event was stored, and they shared a transaction or two
        page = await audit.events(AuditQuery(limit=100))
        assert sorted(e.name for e in page.events) == sorted(f"run{index}" for index in range(20))
        assert {(e.principal, e.name) for e in page.events} == {(f"user{i}", f"run{i}") for i in range(20)}
        assert 1 <= len(writes) <= 2, writes
    finally:
        await db.dispose()
