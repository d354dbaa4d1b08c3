"""A server that requires tokens, end to end over real HTTP and gRPC (issue #18).

Every protected call without a token is refused with what to do; each OAuth2 flow runs as a
client runs it (PKCE through the redirects, device flow, client credentials, refresh with
rotation and reuse detection); each role's allowed and refused calls on both transports; the
execution's principal comes from the token; the engine service takes the engines' account only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from tests.integration.services import flows as workflows
from tests.integration.services.builders import ident, literals, workflow_request
from tests.unit.api.transports import CallError, GrpcClient, HttpClient
from tests.unit.auth.conftest import CI_SECRET, DOMAIN, PASSWORDS, PROJECT
from tests.unit.auth.flows import CLI, authorization_code, client_credentials, pkce_pair, token_form
from tests.unit.auth.used_secrets import secret
from wingspan.core.model import codec
from wingspan.protos import v1
from wingspan.server.api.engine_client import EngineClient
from wingspan.server.api.methods import methods
from wingspan.server.auth.policy import OPEN
from wingspan.server.serve import ApiServer

Client = GrpcClient | HttpClient


def clients(server: ApiServer, token: str = "") -> list[Client]:
    return [GrpcClient("127.0.0.1", server.grpc_port, token), HttpClient(server.http_url, token)]


async def token_of(server: ApiServer, subject: str, *, service_account: bool = False) -> str:
    """A token as the server issues it (the flows that obtain one are tested on their own)."""
    assert server.auth is not None
    issued = await server.auth.issuer.issue(subject, client_id=CLI, service_account=service_account)
    return secret(issued.value)


async def refused(client: Client, code: str, name: str, request: Any) -> str:
    with pytest.raises(CallError) as info:
        if BY_STREAMING.get(name):
            await client.stream(name, request)
        else:
            await client.call(name, request)
    assert info.value.code == code, (client.name, name, info.value)
    return info.value.message


BY_STREAMING = {m.name: m.server_streaming for m in methods()}


async def test_without_a_token_every_protected_call_is_refused_with_what_to_do(secured: ApiServer) -> None:
    for client in clients(secured):
        hint = secured.grpc_address  # what wingspan login takes, whichever transport refused
        try:
            for method in methods():
                if method.name in OPEN:
                    continue
                message = await refused(client, "UNAUTHENTICATED", method.name, method.request_type())
                assert f"run `wingspan login {hint}`" in message, (client.name, method.name, message)
            assert (await client.call("GetVersion", v1.GetVersionRequest())).version
        finally:
            await client.aclose()
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as http:
        for path in ("/healthz", "/readyz", "/schema/openapi.json", "/.well-known/jwks.json",
                     "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
            assert (await http.get(path)).status_code == 200, path
        document = (await http.get("/schema/openapi.json")).json()
        assert document["security"] == [{"bearer": []}]
        assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert document["paths"]["/api/v1/GetVersion"]["post"]["security"] == []
        assert "401" in document["paths"]["/api/v1/ListProjects"]["post"]["responses"]
        metrics = await http.get("/metrics")
        assert metrics.status_code == 401 and metrics.headers["www-authenticate"].startswith("Bearer")
        assert (await http.post("/api/v1/ListProjects", json={},
                                headers={"authorization": "Basic YTpi"})).status_code == 401


async def test_a_forged_or_unsigned_token_is_refused_on_both_transports_and_not_repeated(
        secured: ApiServer) -> None:
    good = await token_of(secured, "ada")
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    unsigned = "eyJhbGciOiJub25lIn0." + payload + "."
    for token, why in ((tampered, "signature is not valid"), (unsigned, "'none' is not accepted")):
        for client in clients(secured, token):
            try:
                message = await refused(client, "UNAUTHENTICATED", "ListProjects", v1.ListProjectsRequest())
                assert why in message and token not in message and payload not in message
            finally:
                await client.aclose()


async def test_each_role_may_do_what_it_holds_and_is_told_what_it_lacks(secured: ApiServer) -> None:
    ada, alice, vic, olga = [await token_of(secured, name) for name in ("ada", "alice", "vic", "olga")]
    workflow = workflows.pipeline
    for number, (as_alice, as_vic, as_olga, as_ada) in enumerate(zip(
            clients(secured, alice), clients(secured, vic), clients(secured, olga), clients(secured, ada),
            strict=True)):
        version = f"v{number}"
        try:
            # a contributor registers and runs; the principal is the token's, not the request's
            for compiled in workflow.closure.tasks:
                template = compiled.template
                assert template is not None and template.id is not None
                await as_alice.call("RegisterTask", v1.RegisterTaskRequest(
                    id=ident(1, template.id.name, version), template=codec.to_proto(template)))
            await as_alice.call("RegisterWorkflow", workflow_request(workflow, version))
            spec = v1.ExecutionSpec(entity_id=ident(2, workflow.name, version), inputs=literals(x=1),
                                    metadata=v1.ExecutionMetadata(principal="mallory"))
            created = await as_alice.call("CreateExecution", v1.CreateExecutionRequest(
                project=PROJECT, domain=DOMAIN, name=f"run-{number}", spec=spec))
            # a viewer reads, and may not run
            got = await as_vic.call("GetExecution", v1.GetExecutionRequest(id=created.id))
            assert got.spec.metadata.principal == "alice"
            listed = await as_vic.call("ListExecutions", v1.ListRequest(project=PROJECT, domain=DOMAIN))
            assert [e.spec.metadata.principal for e in listed.executions] == ["alice"] * (number + 1)
            denied = await refused(as_vic, "PERMISSION_DENIED", "CreateExecution", v1.CreateExecutionRequest(
                project=PROJECT, domain=DOMAIN, name=f"vic-{number}", spec=spec))
            assert ("vic may not call CreateExecution: it needs the contributor role in project 'default', "
                    "domain 'development' (vic holds viewer there)") in denied
            assert "wingspan access grant vic contributor --project default --domain development" in denied
            await refused(as_vic, "PERMISSION_DENIED", "TerminateExecution",
                          v1.TerminateExecutionRequest(id=created.id, reason="no"))
            await refused(as_vic, "PERMISSION_DENIED", "ListExecutions",
                          v1.ListRequest(project=PROJECT, domain="staging"))
            await as_alice.call("TerminateExecution",
                                v1.TerminateExecutionRequest(id=created.id, reason="done"))
            # a project's admin is no one elsewhere, nor a deployment admin
            message = await refused(as_olga, "PERMISSION_DENIED", "GetExecution",
                                    v1.GetExecutionRequest(id=created.id))
            assert "olga holds no role there" in message
            await refused(as_olga, "PERMISSION_DENIED", "CreateProject", v1.CreateProjectRequest(
                project=v1.Project(id=f"olgas-{number}", name="o")))
            # the deployment-wide admin makes projects and grants roles; then olga's binding counts
            await as_ada.call("CreateProject", v1.CreateProjectRequest(project=v1.Project(
                id=f"other{number}", name="other")))
            await refused(as_alice, "PERMISSION_DENIED", "GrantRole", v1.GrantRoleRequest(
                binding=v1.RoleBinding(subject="alice", role="admin", project="*", domain="*")))
            await as_ada.call("GrantRole", v1.GrantRoleRequest(binding=v1.RoleBinding(
                subject="olga", role="admin", project=f"other{number}", domain="*")))
            await as_olga.call("UpdateProject", v1.UpdateProjectRequest(project=v1.Project(
                id=f"other{number}", name="renamed")))
            bindings = await as_olga.call("ListRoleBindings", v1.ListRoleBindingsRequest(
                project=f"other{number}"))
            assert [(b.subject, b.role) for b in bindings.bindings] == [("olga", "admin")]
            await refused(as_olga, "PERMISSION_DENIED", "ListRoleBindings", v1.ListRoleBindingsRequest())
            # anyone authenticated finds the projects
            assert (await as_vic.call("ListProjects", v1.ListProjectsRequest())).projects
        finally:
            for client in (as_alice, as_vic, as_olga, as_ada):
                await client.aclose()


async def test_a_group_binding_holds_for_its_members(secured: ApiServer) -> None:
    from wingspan.server.auth.policy import authorize
    from wingspan.server.auth.principal import Principal
    from wingspan.server.auth.roles import Role

    assert secured.auth is not None
    await secured.auth.bindings.grant("group:ml", Role.VIEWER, PROJECT, DOMAIN)
    member = Principal("someone", groups=frozenset({"ml"}))
    await authorize(member, "ListExecutions", v1.ListRequest(project=PROJECT, domain=DOMAIN),
                    secured.auth.bindings)
    with pytest.raises(Exception, match="needs the viewer role"):
        await authorize(Principal("outsider", groups=frozenset({"web"})), "ListExecutions",
                        v1.ListRequest(project=PROJECT, domain=DOMAIN), secured.auth.bindings)


async def test_client_credentials_give_a_service_account_its_role(secured: ApiServer) -> None:
    token = await client_credentials(secured.http_url, "ci", CI_SECRET)
    for client in clients(secured, token):
        try:
            await client.call("ListExecutions", v1.ListRequest(project=PROJECT, domain=DOMAIN))
            message = await refused(client, "PERMISSION_DENIED", "CreateProject",
                                    v1.CreateProjectRequest(project=v1.Project(id="ci-made", name="x")))
            assert "needs the admin role in the whole deployment" in message
        finally:
            await client.aclose()
    wrong = await token_form(secured.http_url, {"grant_type": "client_credentials", "client_id": "ci",
                                                "client_secret": "not-the-secret"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    person = await token_form(secured.http_url, {"grant_type": "client_credentials", "client_id": "alice",
                                                 "client_secret": PASSWORDS["alice"]})
    assert person.status_code == 401  # a user's password is not a client secret


async def test_authorization_code_with_pkce_through_the_redirects(secured: ApiServer) -> None:
    body = await authorization_code(secured.http_url, "alice", PASSWORDS["alice"])
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    for client in clients(secured, body["access_token"]):
        try:
            await client.call("ListExecutions", v1.ListRequest(project=PROJECT, domain=DOMAIN))
        finally:
            await client.aclose()
    verifier, challenge = pkce_pair()
    redirect = "http://127.0.0.1:9/callback"
    query = {"response_type": "code", "client_id": CLI, "redirect_uri": redirect, "code_challenge": challenge,
             "code_challenge_method": "S256", "state": "s"}
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as browser:
        wrong = await browser.post("/oauth2/authorize",
                                   data={**query, "username": "alice", "password": "nope"})
        assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
        assert "location" not in wrong.headers
        for bad in ({"redirect_uri": "https://evil.example/cb"}, {"client_id": "evil"},
                    {"code_challenge_method": "plain"}, {"code_challenge": ""}):
            page = await browser.get("/oauth2/authorize", params={**query, **bad})
            assert page.status_code == 400 and "location" not in page.headers, bad
        issued = await browser.post("/oauth2/authorize", data={**query, "username": "alice",
                                                                "password": PASSWORDS["alice"]})
        assert issued.status_code == 302 and issued.headers["cache-control"] == "no-store"
        login_page = await browser.get("/oauth2/authorize", params=query)
        assert login_page.headers["x-frame-options"] == "DENY"  # no clickjacking of the login
    code = secret(httpx.URL(issued.headers["location"]).params["code"])
    exchange = {"grant_type": "authorization_code", "code": code, "client_id": CLI, "redirect_uri": redirect}
    wrong_verifier = await token_form(secured.http_url, {**exchange, "code_verifier": pkce_pair()[0]})
    assert wrong_verifier.status_code == 400 and "PKCE" in wrong_verifier.json()["error_description"]
    # the failed exchange spent the code: the right verifier comes too late
    late = await token_form(secured.http_url, {**exchange, "code_verifier": verifier})
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_its_family(secured: ApiServer) -> None:
    first = await authorization_code(secured.http_url, "vic", PASSWORDS["vic"])
    second = await token_form(secured.http_url, {"grant_type": "refresh_token",
                                                 "refresh_token": first["refresh_token"], "client_id": CLI})
    assert second.status_code == 200, second.text
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]
    third = await token_form(secured.http_url, {"grant_type": "refresh_token", "refresh_token": rotated})
    assert third.status_code == 200
    latest = third.json()["refresh_token"]
    reused = await token_form(secured.http_url, {"grant_type": "refresh_token",
                                                 "refresh_token": first["refresh_token"]})
    assert reused.status_code == 400 and "revoked" in reused.json()["error_description"]
    after = await token_form(secured.http_url, {"grant_type": "refresh_token", "refresh_token": latest})
    assert after.status_code == 400 and "login was ended" in after.json()["error_description"]


async def test_device_flow(secured: ApiServer) -> None:
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as device:
        started = (await device.post("/oauth2/device_authorization", data={"client_id": CLI})).json()
        device_code = secret(started["device_code"])
        poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device_code,
                "client_id": CLI}
        pending = await token_form(secured.http_url, poll)
        assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
        page = await device.get(started["verification_uri_complete"])
        assert page.status_code == 200 and started["user_code"] in page.text
        form = {"user_code": started["user_code"], "username": "alice"}
        wrong = await device.post("/oauth2/device", data={**form, "password": "wrong-password"})
        assert wrong.status_code == 401
        approved = await device.post("/oauth2/device", data={**form, "password": PASSWORDS["alice"]})
        assert approved.status_code == 200 and "Device connected" in approved.text
        granted = await token_form(secured.http_url, poll)
        assert granted.status_code == 200, granted.text
        again = await token_form(secured.http_url, poll)
        assert again.status_code == 400
    for client in clients(secured, granted.json()["access_token"]):
        try:
            await client.call("ListExecutions", v1.ListRequest(project=PROJECT, domain=DOMAIN))
        finally:
            await client.aclose()


async def test_the_engine_service_takes_the_engines_account_only(secured: ApiServer) -> None:
    execution = v1.WorkflowExecutionEvent(execution_id=v1.ExecutionId(project=PROJECT, domain=DOMAIN,
                                                                      name="absent"), producer_id="x")
    for who in (await token_of(secured, "ada"), await client_credentials(secured.http_url, "ci", CI_SECRET)):
        channel = Channel("127.0.0.1", secured.grpc_port)
        try:
            with pytest.raises(GRPCError) as info:
                await v1.EngineServiceStub(channel, metadata={"authorization": f"Bearer {who}"}) \
                    .create_workflow_event(execution, timeout=30)
            assert info.value.status is Status.PERMISSION_DENIED, info.value
        finally:
            channel.close()
    from tests.unit.api.served import engine_tokens

    async with EngineClient("127.0.0.1", secured.grpc_port, engine_tokens(secured)) as engine:
        with pytest.raises(GRPCError) as info:
            await engine.create_workflow_event(execution)
        assert info.value.status is Status.NOT_FOUND, info.value  # past authentication, to the service


async def test_tokens_of_a_trusted_external_issuer_are_checked_on_both_transports(
        tmp_path: Path, db_url: str) -> None:
    """A server trusting an external OIDC issuer (here a small real one on loopback; the real
    Keycloak test is tests/real/auth) takes its tokens beside its own, with the roles bound to
    the groups they carry; the engine's channel still takes the engines' account only."""
    from tests.unit.auth.issuer import AUDIENCE, TinyIssuer
    from wingspan.core.config import Settings
    from wingspan.server.auth.roles import Role

    with TinyIssuer().serving() as issuer:
        settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0, auth="required",
                            db_url=db_url, oidc_issuer=issuer.url, oidc_audience=AUDIENCE)
        async with ApiServer(settings, grace=2, engine=False) as server:
            assert server.auth is not None
            await server.auth.bindings.grant("group:ml-team", Role.VIEWER, PROJECT, DOMAIN)
            member = secret(issuer.token(sub="grace", groups=["ml-team"]))
            outsider = secret(issuer.token(sub="oscar", groups=["web"]))
            wrong_audience = secret(issuer.token(aud="someone-else"))
            request = v1.ListRequest(project=PROJECT, domain=DOMAIN, limit=5)
            for token, expected in ((member, ""), (outsider, "PERMISSION_DENIED"),
                                    (wrong_audience, "UNAUTHENTICATED")):
                for client in clients(server, token):
                    try:
                        if not expected:
                            await client.call("ListExecutions", request)
                        else:
                            message = await refused(client, expected, "ListExecutions", request)
                            assert expected == "UNAUTHENTICATED" or "viewer" in message, message
                    finally:
                        await client.aclose()
