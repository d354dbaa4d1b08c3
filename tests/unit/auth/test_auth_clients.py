"""The clients of a server that requires tokens, against `wingspan serve` (issue #18 item 5):
`wingspan users add`, `wingspan login` through the browser (PKCE) and the device flow, the
token cache (0600, per endpoint, refreshed on its own), Remote with a cached login or a token
provider, a CI service account from the environment, and `wingspan access grant|list|revoke`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.unit.api.served import wingspan_serve
from tests.unit.auth.used_secrets import SECRETS, secret
from wingspan._remote.client import AsyncRemote
from wingspan._remote.login import login_with_browser
from wingspan._remote.tokens import ClientCredentials, StoredLogin, TokenCache
from wingspan.core.errors import PermissionDeniedError, UnauthenticatedError

ADMIN_PASSWORD = secret("ada-password-of-the-clients-test")
BOB_PASSWORD = secret("bob-password-of-the-clients-test")


async def wingspan(*args: str, env: dict[str, str], stdin: str = "") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wingspan.cli", *args, env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def browser_of(user: str, password: str) -> Callable[[str], Awaitable[bool]]:
    """A person's browser: opens the login page, submits the form, follows the redirect home."""
    async def open_page(url: str) -> bool:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        async with httpx.AsyncClient(timeout=30, follow_redirects=True) as browser:
            page = await browser.get(url)
            assert page.status_code == 200 and "<form" in page.text
            home = await browser.post(url.split("?")[0],
                                      data={**query, "username": user, "password": password})
            assert home.status_code == 200 and "Logged in to Wingspan" in home.text, home.text
        return True
    return open_page


async def test_login_remote_refresh_device_ci_and_access_commands(tmp_path: Path) -> None:
    server_env = {"WINGSPAN_HOME": str(tmp_path / "server")}
    code, _, err = await wingspan("users", "add", "ada", "--admin", "--password-stdin", env=server_env,
                                  stdin=ADMIN_PASSWORD + "\n")
    assert code == 0, err
    code, _, err = await wingspan("users", "add", "bob", "--password-stdin", env=server_env,
                                  stdin=BOB_PASSWORD + "\n")
    assert code == 0, err
    code, ci_secret, err = await wingspan("users", "add-service-account", "ci", env=server_env)
    assert code == 0, err
    ci_secret = secret(ci_secret.strip())
    async with wingspan_serve("--auth", "required", "-v", env=server_env) as (served, http_url, host, port):
        endpoint = f"{host}:{port}"
        client_env = {"WINGSPAN_HOME": str(tmp_path / "client"), "WINGSPAN_ENDPOINT": endpoint}
        cache = TokenCache(tmp_path / "client" / "tokens.json")

        # no login yet: Remote is told what to do
        anonymous = AsyncRemote(endpoint, tokens=None)
        with pytest.raises(UnauthenticatedError, match=f"run `wingspan login {re.escape(endpoint)}`"):
            await anonymous.list_projects()
        await anonymous.aclose()

        # through the browser (PKCE); the tokens are cached for this endpoint, for the owner only
        await login_with_browser(endpoint, http_url, browser_of("ada", ADMIN_PASSWORD), cache=cache)
        assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
        first = cache.get(endpoint)
        assert first is not None
        secret(first["access_token"])
        secret(first["refresh_token"])
        remote = AsyncRemote(endpoint, tokens=StoredLogin(endpoint, cache))
        assert [p["id"] for p in await remote.list_projects()] == ["default"]
        # an access token about to expire is refreshed on its own, and the refresh token rotated
        cache.put(endpoint, {**first, "expires_at": 0})
        assert await remote.list_projects()
        refreshed = cache.get(endpoint)
        assert refreshed is not None and refreshed["refresh_token"] != first["refresh_token"]
        secret(refreshed["access_token"])
        secret(refreshed["refresh_token"])
        await remote.aclose()

        # the CLI finds the cached login by itself: ada grants roles
        code, out, err = await wingspan("access", "grant", "ci", "contributor", "--project", "default",
                                        env=client_env)
        assert code == 0, err
        code, out, err = await wingspan("access", "list", "-o", "json", env=client_env)
        assert code == 0, err
        assert '"subject": "ci"' in out and '"role": "contributor"' in out

        # CI: a service account from the environment, no login
        ci_env = {**client_env, "WINGSPAN_HOME": str(tmp_path / "ci"), "WINGSPAN_CLIENT_ID": "ci",
                  "WINGSPAN_CLIENT_SECRET": ci_secret}
        code, out, err = await wingspan("get", "executions", "-o", "json", env=ci_env)
        assert code == 0, err
        code, out, err = await wingspan("access", "grant", "ci", "admin", env=ci_env)
        assert code != 0 and "ci may not call GrantRole: it needs the admin role" in err
        ci = AsyncRemote(endpoint, tokens=ClientCredentials("ci", ci_secret, http_url=http_url))
        assert await ci.list_executions() == []
        with pytest.raises(PermissionDeniedError, match="admin role in the whole deployment"):
            await ci.grant_role("ci", "admin")
        await ci.aclose()

        # the audit log: the grants, refused ones included; an admin lists it, filtered
        code, out, err = await wingspan("audit", "--principal", "ci", "-o", "json", env=client_env)
        assert code == 0, err
        refusals = json.loads(out)
        assert [(e["method"], e["result"], e["name"], e["version"], e["project"]) for e in refusals] == [
            ("GrantRole", "PERMISSION_DENIED", "ci", "admin", "*")] * 2
        code, out, err = await wingspan("audit", "--method", "GrantRole", "--project", "default",
                                        "--since", "1h", "-o", "json", env=client_env)
        assert code == 0, err
        assert [(e["principal"], e["result"], e["name"]) for e in json.loads(out)] == [("ada", "OK", "ci")]
        code, out, err = await wingspan("audit", "--since", "2999-01-01T00:00", "-o", "json", env=client_env)
        assert code == 0 and json.loads(out) == [], err
        code, out, err = await wingspan("audit", "--since", "yesterday", env=client_env)
        assert code != 0 and "neither a time like" in err
        code, out, err = await wingspan("audit", env=ci_env)
        assert code != 0 and "ci may not call ListAuditEvents: it needs the admin role" in err

        # the device flow, as a person without a browser here runs it
        device_env = {**client_env, "WINGSPAN_HOME": str(tmp_path / "device")}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wingspan.cli", "login", "--device", env={**os.environ, **device_env},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert process.stderr is not None
        shown = ""
        while "enter the code" not in shown:
            shown += (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
        found = re.search(r"open (\S+) and enter the code (\S+)", shown)
        assert found, shown
        async with httpx.AsyncClient(timeout=30) as phone:
            approved = await phone.post(found.group(1), data={
                "user_code": found.group(2), "username": "bob", "password": BOB_PASSWORD})
            assert approved.status_code == 200
        _, rest = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, rest.decode()
        device_cache = TokenCache(tmp_path / "device" / "tokens.json")
        entry = device_cache.get(endpoint)
        assert entry is not None and stat.S_IMODE(device_cache.path.stat().st_mode) == 0o600
        secret(entry["access_token"])
        secret(entry["refresh_token"])
        code, out, err = await wingspan("get", "executions", env=device_env)
        assert code != 0 and "bob may not call ListExecutions: it needs the viewer role" in err
        code, out, err = await wingspan("logout", env=device_env)
        assert code == 0 and device_cache.get(endpoint) is None, err
        # logging out gave the refresh token back: it renews nothing any more
        async with httpx.AsyncClient(timeout=30) as client:
            after = await client.post(f"{http_url}/oauth2/token", data={
                "grant_type": "refresh_token", "refresh_token": entry["refresh_token"]})
        assert after.status_code == 400 and "login was ended" in after.json()["error_description"]
    # the server's own log (at DEBUG) holds none of the secrets used
    log = "".join(served.lines)
    assert "auth required" in log and "DEBUG" in log
    assert not [s[:6] for s in SECRETS if s in log]
