"""A token's scopes bound what it may do beside its subject's roles (issue #18): a token asked for
with ``wingspan:read`` reads and cannot register or run, whatever its subject may do."""

from __future__ import annotations

import httpx

from tests.unit.auth.conftest import CI_SECRET, DOMAIN, PROJECT
from tests.unit.auth.flows import CLI, token_form
from tests.unit.auth.test_auth_served import clients, refused
from tests.unit.auth.used_secrets import secret
from wingspan.protos import v1
from wingspan.server.serve import ApiServer

UPLOAD = v1.CreateUploadLocationRequest(project=PROJECT, domain=DOMAIN, filename="b.tgz",
                                        content_md5=b"0123456789abcdef")


async def test_a_read_only_token_reads_and_cannot_register_or_run(secured: ApiServer) -> None:
    answer = await token_form(secured.http_url, {"grant_type": "client_credentials", "client_id": "ci",
                                                 "client_secret": CI_SECRET, "scope": "wingspan:read"})
    assert answer.status_code == 200 and answer.json()["scope"] == "wingspan:read", answer.text
    read_only = answer.json()["access_token"]
    unbounded = await token_form(secured.http_url, {"grant_type": "client_credentials", "client_id": "ci",
                                                    "client_secret": CI_SECRET})
    for as_read, as_ci in zip(clients(secured, read_only), clients(secured, unbounded.json()["access_token"]),
                              strict=True):
        try:
            await as_read.call("ListExecutions", v1.ListRequest(project=PROJECT, domain=DOMAIN))
            for method, request in (
                    ("RegisterTask", v1.RegisterTaskRequest(id=v1.Identifier(
                        resource_type=v1.ResourceType.TASK, project=PROJECT, domain=DOMAIN, name="t",
                        version="v"), template=v1.TaskTemplate())),
                    ("CreateExecution", v1.CreateExecutionRequest(
                        project=PROJECT, domain=DOMAIN, name="r", spec=v1.ExecutionSpec(
                            entity_id=v1.Identifier(resource_type=v1.ResourceType.WORKFLOW, project=PROJECT,
                                                    domain=DOMAIN, name="w", version="v")))),
                    ("CreateUploadLocation", UPLOAD)):
                message = await refused(as_read, "PERMISSION_DENIED", method, request)
                assert (f"the token of ci may not call {method}: its scope (wingspan:read) allows viewer "
                        "calls only") in message
                assert "ask for a token with the scope wingspan:write" in message
            # the same account with a token unbounded by scopes may
            assert (await as_ci.call("CreateUploadLocation", UPLOAD)).signed_url
        finally:
            await as_read.aclose()
            await as_ci.aclose()


async def test_a_write_scope_stops_an_admin_short_of_admin_calls(secured: ApiServer) -> None:
    assert secured.auth is not None
    issued = await secured.auth.issuer.issue("ada", client_id=CLI, scope="openid wingspan:write")
    for client in clients(secured, secret(issued.value)):
        try:
            assert (await client.call("CreateUploadLocation", UPLOAD)).signed_url
            message = await refused(client, "PERMISSION_DENIED", "GrantRole", v1.GrantRoleRequest(
                binding=v1.RoleBinding(subject="vic", role="viewer", project=PROJECT, domain=DOMAIN)))
            assert "scope (wingspan:write) allows contributor calls only" in message
        finally:
            await client.aclose()


async def test_the_scopes_are_published(secured: ApiServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        metadata = (await http.get(f"{secured.http_url}/.well-known/oauth-authorization-server")).json()
    assert {"wingspan:read", "wingspan:write", "wingspan:admin"} <= set(metadata["scopes_supported"])
