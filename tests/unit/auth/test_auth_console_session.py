"""The web console's login: the authorization code flow of the built-in client
``wingspan-console`` run by the server itself, ending in a session cookie with CSRF protection
(issue #18 item 3), driven by an HTTP client following the redirects as a browser does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from tests.unit.api.served import wingspan_serve
from tests.unit.api.transports import CallError, GrpcClient
from tests.unit.auth.conftest import PASSWORDS
from tests.unit.auth.flows import console_login, hidden_fields, pkce_pair, token_form
from tests.unit.auth.test_auth_clients import wingspan
from tests.unit.auth.used_secrets import secret
from wingspan.core.config import Settings
from wingspan.core.errors import PermissionDeniedError, UnauthenticatedError
from wingspan.protos import v1
from wingspan.server.auth.passwords import digest
from wingspan.server.auth.roles import Role
from wingspan.server.auth.sessions import ConsoleSessions, safe_next
from wingspan.server.db.engine import Database, now
from wingspan.server.db.models import ConsoleSessionRow
from wingspan.server.serve import ApiServer

ADA = secret("ada-password-of-the-console-test")


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0].lower()


async def test_wingspan_serve_console_login_session_cookie_csrf_and_logout(tmp_path: Path) -> None:
    env = {"WINGSPAN_HOME": str(tmp_path / "server")}
    code, _, err = await wingspan("users", "add", "ada", "--admin", "--password-stdin", env=env,
                                  stdin=ADA + "\n")
    assert code == 0, err
    async with wingspan_serve("--auth", "required", env=env) as (_, http_url, host, port):
        await _log_in_use_and_log_out(tmp_path, http_url, host, port)


async def _log_in_use_and_log_out(tmp_path: Path, http_url: str, host: str, port: int) -> None:
    async with httpx.AsyncClient(base_url=http_url, timeout=30, follow_redirects=True) as browser:
        landed = await console_login(browser, "ada", ADA, "/console/executions?project=default")
        assert landed.url.raw_path == b"/console/executions?project=default"
        callback = landed.history[1]
        assert callback.url.path == "/auth/callback"
        session_cookie = _set_cookie(callback, "wingspan_session")
        assert "httponly" in session_cookie and "samesite=lax" in session_cookie
        assert "path=/" in session_cookie
        assert "secure" not in session_cookie  # plain HTTP here
        csrf_cookie = _set_cookie(callback, "wingspan_csrf")
        assert "samesite=strict" in csrf_cookie and "httponly" not in csrf_cookie
        session, csrf = browser.cookies["wingspan_session"], browser.cookies["wingspan_csrf"]

        whoami = await browser.get("/auth/whoami")
        assert whoami.status_code == 200, whoami.text
        admin = {"role": "admin", "project": "*", "domain": "*", "through": "ada"}
        assert whoami.json() == {"subject": "ada", "display_name": "ada", "authenticated": True,
                                 "roles": [admin]}

        # the cookie signs the API's calls; one that changes something must repeat the CSRF token
        assert (await browser.post("/api/v1/ListProjects", json={})).status_code == 403
        missing = await browser.post("/api/v1/CreateProject", json={"project": {"id": "p1", "name": "p1"}})
        assert missing.status_code == 403 and "X-CSRF-Token" in missing.json()["message"], missing.text
        wrong = await browser.post("/api/v1/CreateProject", json={"project": {"id": "p1", "name": "p1"}},
                                   headers={"x-csrf-token": "not-the-token"})
        assert wrong.status_code == 403 and "another value" in wrong.json()["message"]
        assert (await browser.post("/api/v1/ListProjects", json={},
                                   headers={"x-csrf-token": csrf})).json()["projects"] is not None
        made = await browser.post("/api/v1/CreateProject", json={"project": {"id": "p1", "name": "p1"}},
                                  headers={"x-csrf-token": csrf})
        assert made.status_code == 200, made.text

        # gRPC takes no cookie
        grpc = GrpcClient(host, port)
        grpc.stub.metadata = {"cookie": f"wingspan_session={session}"}
        try:
            with pytest.raises(CallError) as refused:
                await grpc.call("ListProjects", v1.ListProjectsRequest())
            assert refused.value.code == "UNAUTHENTICATED"
        finally:
            await grpc.aclose()

        # the database keeps digests, never the cookie's value nor the CSRF token
        stored = b"".join(p.read_bytes() for p in (tmp_path / "server" / "db").iterdir() if p.is_file())
        assert session.encode() not in stored and csrf.encode() not in stored
        assert digest(session).encode() in stored

        # logging out is CSRF-checked, ends the session and clears both cookies
        assert (await browser.post("/auth/logout")).status_code == 403
        out = await browser.post("/auth/logout", headers={"x-csrf-token": csrf})
        assert out.status_code == 204, out.text
        assert "max-age=0" in _set_cookie(out, "wingspan_session")
        assert "wingspan_session" not in browser.cookies
        assert (await browser.get("/auth/whoami")).status_code == 401
    async with httpx.AsyncClient(base_url=http_url, timeout=30,
                                 cookies={"wingspan_session": session}) as kept:
        replayed = await kept.get("/auth/whoami")
        assert replayed.status_code == 401 and "/auth/login" in replayed.json()["message"]


async def test_a_console_page_without_credentials_is_sent_to_the_login_and_back(secured: ApiServer) -> None:
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as browser:
        sent = await browser.get("/console/executions", params={"project": "default"})
        assert sent.status_code == 303
        assert sent.headers["location"] == "/auth/login?next=%2Fconsole%2Fexecutions%3Fproject%3Ddefault"
        # an API call without credentials is told, not redirected
        assert (await browser.post("/api/v1/ListProjects", json={})).status_code == 401
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30,
                                 cookies={"wingspan_session": "ended-long-ago"}) as stale:
        assert (await stale.get("/console/")).status_code == 303
        opened = await stale.get("/")  # the server's bare address lands on the login too
        assert (opened.status_code, opened.headers["location"]) == (303, "/auth/login?next=%2Fconsole%2F")


@pytest.mark.parametrize("wanted", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "javascript:x", "console", ""])
def test_next_is_only_ever_a_path_of_this_server(wanted: str) -> None:
    assert safe_next(wanted) == "/console/"


def test_next_keeps_a_path_of_this_server_with_its_query() -> None:
    assert safe_next("/console/runs/r1?tab=nodes") == "/console/runs/r1?tab=nodes"


async def test_a_login_lands_on_another_site_never(secured: ApiServer) -> None:
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30, follow_redirects=True) as browser:
        landed = await console_login(browser, "vic", PASSWORDS["vic"], "https://evil.example/steal")
    assert landed.url.raw_path == b"/console/"
    assert landed.url.host == "127.0.0.1"


async def test_a_code_brought_to_another_browser_logs_nobody_in(secured: ApiServer) -> None:
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as victim, \
            httpx.AsyncClient(base_url=secured.http_url, timeout=30, follow_redirects=True) as attacker:
        page = await attacker.get("/auth/login")
        form = {**hidden_fields(page.text), "username": "vic", "password": PASSWORDS["vic"]}
        sent = await attacker.post("/oauth2/authorize", data=form, follow_redirects=False)
        assert sent.status_code == 302
        callback = sent.headers["location"]
        secret(httpx.URL(callback).params["code"])
        # the attacker's code in the victim's browser (which started no login): refused
        planted = await victim.get(callback)
        assert planted.status_code == 400 and "not started in this browser" in planted.text
        assert "wingspan_session" not in victim.cookies


async def test_the_console_client_is_the_servers_own(secured: ApiServer) -> None:
    verifier, challenge = pkce_pair()
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as browser:
        elsewhere = await browser.get("/oauth2/authorize", params={
            "response_type": "code", "client_id": "wingspan-console", "redirect_uri": "https://evil.example/cb",
            "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"})
        assert elsewhere.status_code == 400 and "/auth/callback only" in elsewhere.text
        page = await browser.get("/auth/login", follow_redirects=True)
        sent = await browser.post("/oauth2/authorize", data={**hidden_fields(page.text), "username": "vic",
                                                             "password": PASSWORDS["vic"]})
        code = secret(httpx.URL(sent.headers["location"]).params["code"])
    # its codes are redeemed by the server itself, never at the token endpoint
    answer = await token_form(secured.http_url, {
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "client_id": "wingspan-console", "redirect_uri": f"{secured.http_url}/auth/callback"})
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"


async def test_a_session_ends_when_idle_and_after_its_lifetime(db: Database) -> None:
    sessions = ConsoleSessions(db, issuer="http://127.0.0.1:8080", idle_seconds=600, max_seconds=3600)
    idle, old = await sessions.begin("vic"), await sessions.begin("ada")
    secret(idle.value)
    secret(old.value)
    assert (await sessions.principal(idle.value, None)).subject == "vic"
    async with db.write() as session:
        await session.execute(update(ConsoleSessionRow).where(
            col(ConsoleSessionRow.session_hash) == digest(idle.value)).values(
            last_seen_at=now() - timedelta(seconds=601)))
        await session.execute(update(ConsoleSessionRow).where(
            col(ConsoleSessionRow.session_hash) == digest(old.value)).values(expires_at=now()))
    for ended in (idle, old):
        with pytest.raises(UnauthenticatedError, match="has expired: log in again at /auth/login"):
            await sessions.principal(ended.value, None)
    async with db.read() as session:
        assert list((await session.execute(select(ConsoleSessionRow))).scalars()) == []


async def test_a_session_in_use_stays_and_its_csrf_token_is_its_own(db: Database) -> None:
    sessions = ConsoleSessions(db, issuer="http://127.0.0.1:8080", idle_seconds=600, max_seconds=3600)
    mine, theirs = await sessions.begin("vic"), await sessions.begin("ada")
    for made in (mine, theirs):
        secret(made.value)
        secret(made.csrf)
    async with db.write() as session:
        await session.execute(update(ConsoleSessionRow).values(last_seen_at=now() - timedelta(seconds=599)))
    assert (await sessions.principal(mine.value, (mine.csrf, mine.csrf))).subject == "vic"
    async with db.read() as session:
        row = await session.get(ConsoleSessionRow, digest(mine.value))
    assert row is not None and now() - row.last_seen_at.replace(tzinfo=now().tzinfo) < timedelta(seconds=60)
    # another session's token (both cookies set by a sibling site, say) does not pass
    with pytest.raises(PermissionDeniedError, match="another value"):
        await sessions.principal(mine.value, (theirs.csrf, theirs.csrf))


async def test_with_authentication_off_nothing_asks_for_a_login(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0)
    async with ApiServer(settings, grace=2, engine=False) as server, \
            httpx.AsyncClient(base_url=server.http_url, timeout=30) as browser:
        assert server.auth is not None and not server.auth.required
        sent = await browser.get("/auth/login", params={"next": "/console/runs"})
        assert sent.status_code == 303 and sent.headers["location"] == "/console/runs"
        whoami = await browser.get("/auth/whoami")
        assert whoami.json() == {"subject": "anonymous", "display_name": "anonymous", "authenticated": False,
                                 "roles": []}
        made = await browser.post("/api/v1/CreateProject", json={"project": {"id": "p1", "name": "p1"}})
        assert made.status_code == 200, made.text
        assert (await browser.post("/auth/logout")).status_code == 204


async def test_the_console_login_is_forwarded_to_the_trusted_external_issuer(tmp_path: Path) -> None:
    """A second Wingspan server stands in for the external OIDC issuer (its authorization server is
    a real one: login page, PKCE, token endpoint, JWKS); the Keycloak suite checks its tokens."""
    issuer_settings = Settings(home=tmp_path / "issuer", http_port=0, grpc_port=0, auth="required")
    async with ApiServer(issuer_settings, grace=2, engine=False) as issuer:
        assert issuer.auth is not None
        await issuer.auth.accounts.add_user("ada", ADA)
        settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0, auth="required",
                            oidc_issuer=issuer.http_url, oidc_audience="wingspan",
                            oidc_client_id="wingspan-cli")
        async with ApiServer(settings, grace=2, engine=False) as server, \
                httpx.AsyncClient(timeout=30, follow_redirects=True) as browser:
            assert server.auth is not None
            await server.auth.bindings.grant("ada", Role.VIEWER, "default", "development")
            page = await browser.get(f"{server.http_url}/auth/login", params={"next": "/console/runs"})
            # the issuer's own login page
            assert page.status_code == 200 and str(page.url).startswith(f"{issuer.http_url}/oauth2/authorize")
            landed = await browser.post(f"{issuer.http_url}/oauth2/authorize",
                                        data={**hidden_fields(page.text), "username": "ada", "password": ADA})
            assert [r.status_code for r in landed.history] == [302, 303], landed.text
            assert str(landed.url) == f"{server.http_url}/console/runs"
            secret(browser.cookies["wingspan_session"])
            whoami = (await browser.get(f"{server.http_url}/auth/whoami")).json()
            assert whoami["subject"] == "ada" and whoami["authenticated"]
            assert whoami["roles"] == [{"role": "viewer", "project": "default", "domain": "development",
                                        "through": "ada"}]
            # a code the issuer refuses (spent already) starts no session, and says why
            spent = secret(httpx.URL(landed.history[0].headers["location"]).params["code"])
            again = await browser.get(f"{server.http_url}/auth/login")
            state = hidden_fields(again.text)["state"]
            refused = await browser.get(f"{server.http_url}/auth/callback",
                                        params={"code": spent, "state": state})
            assert refused.status_code == 400 and "refused the login code" in refused.text, refused.text
