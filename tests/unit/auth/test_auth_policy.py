"""What each method needs, and where: the table covers the whole IDL, and each request names
the project and domain its role is needed in."""

from __future__ import annotations

import pytest

from wingspan.protos import v1
from wingspan.server.api.methods import methods
from wingspan.server.auth.policy import ANY_ROLE, NEEDS, OPEN, scope_of


def test_every_method_of_the_admin_service_has_its_rule() -> None:
    names = {m.name for m in methods()}
    assert names == set(NEEDS) | OPEN | ANY_ROLE, "a method without a rule needs the deployment admin"
    assert not (set(NEEDS) & (OPEN | ANY_ROLE))


EXECUTION = v1.ExecutionId(project="p", domain="d", name="n")
NODE = v1.NodeExecutionId(execution_id=EXECUTION, node_id="n0")


@pytest.mark.parametrize(("method", "request_", "scope"), [
    ("CreateProject", v1.CreateProjectRequest(project=v1.Project(id="p")), ("*", "*")),
    ("UpdateProject", v1.UpdateProjectRequest(project=v1.Project(id="p")), ("p", "*")),
    ("GetTask", v1.GetEntityRequest(id=v1.Identifier(project="p", domain="d", name="t", version="1")),
     ("p", "d")),
    ("ListNames", v1.ListNamesRequest(list=v1.ListRequest(project="p", domain="d")), ("p", "d")),
    ("CreateExecution", v1.CreateExecutionRequest(project="p", domain="d"), ("p", "d")),
    ("GetExecution", v1.GetExecutionRequest(id=EXECUTION), ("p", "d")),
    ("ListTaskExecutions", v1.ListTaskExecutionsRequest(node_execution_id=NODE), ("p", "d")),
    ("GetTaskExecution", v1.GetTaskExecutionRequest(id=v1.TaskExecutionId(node_execution_id=NODE)),
     ("p", "d")),
    ("SetSignal", v1.SetSignalRequest(id=v1.SignalId(execution_id=EXECUTION, signal_id="s")), ("p", "d")),
    ("GrantRole", v1.GrantRoleRequest(binding=v1.RoleBinding(subject="a", role="viewer", project="p",
                                                             domain="*")), ("p", "*")),
    ("ListRoleBindings", v1.ListRoleBindingsRequest(), ("*", "*")),
    ("CreateDownloadLocation", v1.CreateDownloadLocationRequest(
        native_url="s3://bucket/prefix/uploads/p/d/abc/file.txt"), ("p", "d")),
    ("CreateDownloadLocation", v1.CreateDownloadLocationRequest(native_url="s3://bucket/elsewhere"),
     ("*", "*")),
    # a request that names nothing needs a deployment-wide binding
    ("GetExecution", v1.GetExecutionRequest(), ("*", "*")),
])
def test_the_scope_of_a_request(method: str, request_: object, scope: tuple[str, str]) -> None:
    assert scope_of(method, request_) == scope


async def test_a_binding_for_one_domain_of_every_project(db: object) -> None:
    from wingspan.server.auth.principal import Principal
    from wingspan.server.auth.roles import EVERY, Role, RoleBindings
    from wingspan.server.db.engine import Database

    assert isinstance(db, Database)
    bindings = RoleBindings(db)
    assert await bindings.grant("dev", Role.CONTRIBUTOR, EVERY, "development")
    assert not await bindings.grant("dev", Role.CONTRIBUTOR, EVERY, "development")  # there already
    dev = Principal("dev")
    assert await bindings.held(dev, "any-project", "development") is Role.CONTRIBUTOR
    assert await bindings.held(dev, "any-project", "production") is None


def test_the_auth_settings_are_checked_before_the_server_starts() -> None:
    from wingspan.core.config import Settings
    from wingspan.core.errors import ConfigError
    from wingspan.server.auth.service import auth_required

    assert not auth_required(Settings(), loopback_only=True)
    assert auth_required(Settings(), loopback_only=False)
    assert not auth_required(Settings(insecure=True), loopback_only=False)
    assert auth_required(Settings(auth="required"), loopback_only=True)
    assert not auth_required(Settings(auth="off"), loopback_only=False)
    with pytest.raises(ConfigError, match="choose from auto, required, off"):
        auth_required(Settings(auth="maybe"), loopback_only=True)
    with pytest.raises(ConfigError, match="access_token_seconds = 0 is too short"):
        auth_required(Settings(access_token_seconds=0), loopback_only=True)


def test_the_openapi_document_asks_for_a_token_only_where_the_server_does() -> None:
    from wingspan.server.api.methods import methods
    from wingspan.server.api.openapi import openapi_document

    every = frozenset(m.name for m in methods())
    open_server = openapi_document(every, "0", 1000)
    assert "security" not in open_server and "securitySchemes" not in open_server["components"]
    # every operation: the POST of each method and the GET routes of the reads
    assert all("security" not in op for p in open_server["paths"].values() for op in p.values())
