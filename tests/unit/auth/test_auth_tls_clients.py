"""The login clients against a server whose certificate a private CA signed (``--ca``): the token,
device and revocation endpoints are checked against that CA as the gRPC channel is."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.unit.api.served import wingspan_serve
from tests.unit.api.test_api_tls import Pki
from tests.unit.auth.test_auth_clients import wingspan
from tests.unit.auth.used_secrets import secret
from wingspan._remote.endpoint import Endpoint
from wingspan._remote.login import login_with_device
from wingspan._remote.tokens import TokenCache

ADA = secret("ada-password-of-the-tls-clients-test")


async def test_login_and_logout_through_a_private_ca(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    env = {"WINGSPAN_HOME": str(tmp_path / "server")}
    code, _, err = await wingspan("users", "add", "ada", "--admin", "--password-stdin", env=env,
                                  stdin=ADA + "\n")
    assert code == 0, err
    code, ci_secret, err = await wingspan("users", "add-service-account", "ci", env=env)
    assert code == 0, err
    ci_secret = secret(ci_secret.strip())
    async with wingspan_serve("--auth", "required", "--tls-cert", str(pki.cert), "--tls-key", str(pki.key),
                              env=env) as (_, http_url, host, port):
        endpoint = f"https://{host}:{port}"
        ca = str(pki.ca.path)
        ci_env = {"WINGSPAN_HOME": str(tmp_path / "ci"), "WINGSPAN_CLIENT_ID": "ci",
                  "WINGSPAN_CLIENT_SECRET": ci_secret}
        code, _, err = await wingspan("login", endpoint, "--ca", ca, env=ci_env)
        assert code == 0 and "the service account ci" in err, err
        code, _, err = await wingspan("get", "projects", "--endpoint", endpoint, "--ca", ca, env=ci_env)
        assert code == 0, err
        code, _, err = await wingspan("login", endpoint, env=ci_env)  # without the CA: refused
        assert code != 0 and "CERTIFICATE_VERIFY_FAILED" in err

        # a person's device login, then logout giving the refresh token back, both through the CA
        cache = TokenCache(tmp_path / "person" / "tokens.json")
        shown: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        verify = Endpoint.parse(endpoint, ca=ca).http_verify()
        login = asyncio.create_task(login_with_device(f"{host}:{port}", http_url, shown.set_result,
                                                      cache=cache, verify=verify))
        grant = await asyncio.wait_for(shown, 30)
        async with httpx.AsyncClient(timeout=30, verify=verify) as phone:
            approved = await phone.post(grant["verification_uri"], data={
                "user_code": grant["user_code"], "username": "ada", "password": ADA})
        assert approved.status_code == 200, approved.text
        await asyncio.wait_for(login, 60)
        entry = cache.get(f"{host}:{port}")
        assert entry is not None
        refresh = secret(entry["refresh_token"])
        secret(entry["access_token"])
        person = {"WINGSPAN_HOME": str(tmp_path / "person")}
        code, _, err = await wingspan("logout", f"{host}:{port}", "--ca", ca, env=person)
        assert code == 0 and "could not be told" not in err, err
        async with httpx.AsyncClient(timeout=30, verify=verify) as client:
            after = await client.post(f"{http_url}/oauth2/token", data={
                "grant_type": "refresh_token", "refresh_token": refresh})
        assert after.status_code == 400 and "login was ended" in after.json()["error_description"]
