"""The external-issuer verifier against a real Keycloak (scripts/testenv/keycloak.py): tokens it
issues by client credentials and by password are accepted with their subject and groups; a token
for another service, or changed on the way, is refused; a key Keycloak adds is picked up."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from wingspan.core.config import Settings
from wingspan.core.errors import UnauthenticatedError
from wingspan.server.auth.oidc import ExternalIssuer, IssuerConfig, external_verifiers

pytestmark = pytest.mark.real


async def _token(env: dict[str, str], **form: str) -> str:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(f"{env['WINGSPAN_TEST_KEYCLOAK_ISSUER']}/protocol/openid-connect/token",
                                 data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _client(env: dict[str, str]) -> dict[str, str]:
    return {"client_id": env["WINGSPAN_TEST_KEYCLOAK_CLIENT_ID"],
            "client_secret": env["WINGSPAN_TEST_KEYCLOAK_CLIENT_SECRET"]}


def _header(token: str) -> dict[str, str]:
    encoded = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))


@pytest.fixture
async def verifier(keycloak_env: dict[str, str]) -> AsyncIterator[ExternalIssuer]:
    """Built the way the server builds it: from settings."""
    [built] = external_verifiers(Settings(
        oidc_issuer=keycloak_env["WINGSPAN_TEST_KEYCLOAK_ISSUER"],
        oidc_audience=keycloak_env["WINGSPAN_TEST_KEYCLOAK_AUDIENCE"],
        oidc_subject_claim="preferred_username", oidc_groups_claim="groups"))
    assert isinstance(built, ExternalIssuer)
    try:
        yield built
    finally:
        await built.aclose()


async def test_keycloak_tokens_are_accepted_with_subject_and_groups(keycloak_env: dict[str, str],
                                                                     verifier: ExternalIssuer) -> None:
    service = await verifier.verify(await _token(keycloak_env, grant_type="client_credentials",
                                                 **_client(keycloak_env)))
    assert service.subject == "service-account-wingspan-ci" and service.groups == {"ml-team"}
    assert service.issuer == keycloak_env["WINGSPAN_TEST_KEYCLOAK_ISSUER"]
    person = await verifier.verify(await _token(
        keycloak_env, grant_type="password", username=keycloak_env["WINGSPAN_TEST_KEYCLOAK_USER"],
        password=keycloak_env["WINGSPAN_TEST_KEYCLOAK_PASSWORD"], **_client(keycloak_env)))
    assert person.subject == "ada" and person.groups == {"ml-team"}


async def test_a_keycloak_token_for_another_service_or_changed_is_refused(keycloak_env: dict[str, str],
                                                                         verifier: ExternalIssuer) -> None:
    other = await _token(keycloak_env, grant_type="client_credentials", client_id="other-service",
                         client_secret=keycloak_env["WINGSPAN_TEST_KEYCLOAK_CLIENT_SECRET"])
    with pytest.raises(UnauthenticatedError, match=r"audience|claim 'aud'"):
        await verifier.verify(other)
    good = await _token(keycloak_env, grant_type="client_credentials", **_client(keycloak_env))
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["preferred_username"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(UnauthenticatedError, match="signature does not verify"):
        await verifier.verify(f"{header}.{forged}.{signature}")
    wrong_issuer = ExternalIssuer(IssuerConfig(keycloak_env["WINGSPAN_TEST_KEYCLOAK_URL"] + "/realms/master",
                                               keycloak_env["WINGSPAN_TEST_KEYCLOAK_AUDIENCE"]))
    try:
        with pytest.raises(UnauthenticatedError, match=r"does not publish|not by the trusted issuer"):
            await wrong_issuer.verify(good)
    finally:
        await wrong_issuer.aclose()


async def test_a_key_keycloak_adds_is_fetched_when_a_token_names_it(keycloak_env: dict[str, str],
                                                                   verifier: ExternalIssuer) -> None:
    before = await _token(keycloak_env, grant_type="client_credentials", **_client(keycloak_env))
    await verifier.verify(before)  # the keys are now cached
    url, realm = keycloak_env["WINGSPAN_TEST_KEYCLOAK_URL"], "wingspan"
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        login = await http.post("/realms/master/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "admin-cli",
            "username": keycloak_env["WINGSPAN_TEST_KEYCLOAK_ADMIN"],
            "password": keycloak_env["WINGSPAN_TEST_KEYCLOAK_ADMIN_PASSWORD"]})
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        realm_id = (await http.get(f"/admin/realms/{realm}", headers=admin)).json()["id"]
        added = await http.post(f"/admin/realms/{realm}/components", headers=admin, json={
            "name": "rotated-in-test", "providerId": "rsa-generated", "parentId": realm_id,
            "providerType": "org.keycloak.keys.KeyProvider",
            "config": {"priority": ["1000"], "keySize": ["2048"], "active": ["true"], "enabled": ["true"]}})
        assert added.status_code == 201, added.text
        component = added.headers["location"].rsplit("/", 1)[1]
        try:
            after = await _token(keycloak_env, grant_type="client_credentials", **_client(keycloak_env))
            assert _header(after)["kid"] != _header(before)["kid"], "Keycloak signs with the new key"
            assert (await verifier.verify(after)).subject == "service-account-wingspan-ci"
            assert await verifier.verify(before), "tokens of the older key stay valid while it is published"
        finally:
            await http.delete(f"/admin/realms/{realm}/components/{component}", headers=admin)
