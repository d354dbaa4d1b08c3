"""Tokens of an external OIDC issuer, against a real HTTP issuer on loopback (tests/unit/auth/issuer.py):
accepted with the claims mapped, refused for every way a token can be wrong, keys fetched again when
the issuer rotates them."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from tests.unit.auth.issuer import AUDIENCE, TinyIssuer
from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError, UnauthenticatedError, UnavailableError
from wingspan.server.auth.oidc import ExternalIssuer, IssuerConfig, external_verifiers
from wingspan.server.auth.verifier import FirstAccepting, TokenVerifier


@pytest.fixture
def issuer() -> Iterator[TinyIssuer]:
    with TinyIssuer().serving() as serving:
        yield serving


@pytest.fixture
async def verifier(issuer: TinyIssuer) -> AsyncIterator[ExternalIssuer]:
    checking = ExternalIssuer(IssuerConfig(issuer.url, AUDIENCE))
    try:
        yield checking
    finally:
        await checking.aclose()


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_valid_token_names_its_subject_and_groups(issuer: TinyIssuer,
                                                          verifier: ExternalIssuer) -> None:
    assert isinstance(verifier, TokenVerifier)
    principal = await verifier.verify(issuer.token(scope="openid wingspan"))
    assert (principal.subject, principal.issuer) == ("ada", issuer.url)
    assert principal.groups == {"ml-team"}
    assert principal.scopes == {"openid", "wingspan"} and principal.authenticated
    assert not principal.is_service_account


async def test_claims_are_mapped_by_the_names_configured(issuer: TinyIssuer) -> None:
    keycloak_like = ExternalIssuer(IssuerConfig(issuer.url, AUDIENCE, subject_claim="preferred_username",
                                                groups_claim="realm_access.roles"))
    namespaced = ExternalIssuer(IssuerConfig(issuer.url, AUDIENCE, groups_claim="https://example.com/roles"))
    try:
        namespaced_claim: dict[str, Any] = {"https://example.com/roles": "ops"}
        token = issuer.token(preferred_username="ada.l", realm_access={"roles": ["admin", "viewer"]},
                             **namespaced_claim)
        mapped = await keycloak_like.verify(token)
        assert (mapped.subject, mapped.groups) == ("ada.l", frozenset({"admin", "viewer"}))
        assert (await namespaced.verify(token)).groups == {"ops"}
        with pytest.raises(UnauthenticatedError, match=r"no text claim 'preferred_username'.*subject_claim"):
            await keycloak_like.verify(issuer.token())
    finally:
        await keycloak_like.aclose()
        await namespaced.aclose()


@pytest.mark.parametrize(("why", "make", "message"), [
    ("expired", lambda i: i.token(lifetime=-120), "has expired"),
    ("not yet valid", lambda i: i.token(not_before=600), "not valid yet"),
    ("wrong audience", lambda i: i.token(aud="another-service"), "audience 'another-service', not for this"),
    ("wrong issuer", lambda i: i.token(iss="https://evil.example/realms/test"),
     "issued by 'https://evil.example/realms/test', not by the trusted issuer"),
    ("no expiry", lambda i: i.token(exp=None), "claim 'exp'"),
    ("unknown key", lambda i: i.token(key=ECKey.generate_key("P-256", parameters={"kid": "stranger"})),
     "key \\(kid 'stranger'\\) that .* does not publish"),
    ("wrong key", lambda i: i.token(key=ECKey.generate_key("P-256", parameters={"kid": "first"})),
     "signature does not verify"),
    ("alg none", lambda i: f"{_b64({'alg': 'none', 'kid': 'first'})}.{_segments(i.token())[1]}.",
     "algorithm 'none' is not accepted"),
    ("HMAC with a guessable secret", lambda i: jwt.encode({"alg": "HS256", "kid": "first"},
                                                          {"sub": "x", "iss": i.url},
                                                          OctKey.import_key("public-key-as-secret")),
     "algorithm 'HS256' is not accepted"),
    ("tampered", lambda i: ".".join([_segments(i.token())[0],
                                     _b64({"iss": i.url, "aud": AUDIENCE, "sub": "root", "exp": 4102444800}),
                                     _segments(i.token())[2]]), "signature does not verify"),
    ("not a JWT", lambda i: "opaque-session-token", "not a signed JWT"),
])
async def test_a_wrong_token_is_refused_saying_why(issuer: TinyIssuer, verifier: ExternalIssuer, why: str,
                                                   make: object, message: str) -> None:
    token = make(issuer)  # type: ignore[operator]
    with pytest.raises(UnauthenticatedError, match=message) as refused:
        await verifier.verify(token)
    assert token not in str(refused.value), "a refusal never repeats the token"


async def test_rotated_keys_are_fetched_again_on_an_unknown_kid_but_not_for_every_forged_one(
        issuer: TinyIssuer, verifier: ExternalIssuer) -> None:
    await verifier.verify(issuer.token())
    assert issuer.jwks_reads == 1, "the keys are kept between tokens"
    await verifier.verify(issuer.token())
    assert issuer.jwks_reads == 1
    issuer.rotate("second")
    assert (await verifier.verify(issuer.token())).subject == "ada"  # a key id not seen: read again
    assert issuer.jwks_reads == 2
    stranger = ECKey.generate_key("P-256", parameters={"kid": "forged"})
    for _ in range(5):
        with pytest.raises(UnauthenticatedError, match="does not publish"):
            await verifier.verify(issuer.token(key=stranger))
    assert issuer.jwks_reads == 2, "forged key ids do not make the server hammer the issuer"
    # tokens of the old key stay valid while the issuer still publishes it
    assert await verifier.verify(issuer.token(key=issuer.keys[-1]))


async def test_an_accepted_token_is_remembered_until_it_expires(issuer: TinyIssuer) -> None:
    now = [0.0]
    verifier = ExternalIssuer(IssuerConfig(issuer.url, AUDIENCE, leeway_seconds=0), clock=lambda: now[0])
    try:
        token = issuer.token(lifetime=120)
        now[0] = time.time() + 1  # no leeway: the token's iat (a whole second) must not be ahead of us
        first = await verifier.verify(token)
        assert await verifier.verify(token) is first, "the same token is not checked whole again"
        now[0] += 100
        assert await verifier.verify(token) is first
        now[0] += 30
        with pytest.raises(UnauthenticatedError, match="has expired"):
            await verifier.verify(token)
        # a long-lived token is checked whole again after five minutes (a withdrawn key stops counting)
        long_lived = issuer.token(lifetime=3600)
        remembered = await verifier.verify(long_lived)
        now[0] += 301
        again = await verifier.verify(long_lived)
        assert again == remembered and again is not remembered
    finally:
        await verifier.aclose()


async def test_an_issuer_that_cannot_be_reached_is_unavailable_not_a_bad_token(issuer: TinyIssuer) -> None:
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    gone = ExternalIssuer(IssuerConfig(f"http://127.0.0.1:{port}/realms/test", AUDIENCE))
    wrong = ExternalIssuer(IssuerConfig(issuer.url + "/", AUDIENCE))  # not the iss its document names
    try:
        with pytest.raises(UnavailableError, match=f"cannot check tokens of http://127.0.0.1:{port}/realms"):
            await gone.verify(issuer.token(iss=gone.config.issuer))
        with pytest.raises(UnavailableError, match=r"names the issuer .*set oidc_issuer to exactly"):
            await wrong.verify(issuer.token(iss=issuer.url + "/"))
        # another issuer's token is refused as such, without the unreachable issuer's keys
        with pytest.raises(UnauthenticatedError, match="not by the trusted issuer"):
            await gone.verify(issuer.token())
    finally:
        await gone.aclose()
        await wrong.aclose()


async def test_first_accepting_falls_through_to_the_external_issuer(issuer: TinyIssuer,
                                                                  verifier: ExternalIssuer) -> None:
    class Nobody:
        async def verify(self, token: str) -> object:
            raise UnauthenticatedError("not one of this server's tokens")

    both = FirstAccepting([Nobody(), verifier])  # type: ignore[list-item]
    assert (await both.verify(issuer.token())).subject == "ada"


async def test_the_server_builds_its_verifiers_from_settings(issuer: TinyIssuer, tmp_path: Path) -> None:
    assert external_verifiers(Settings(home=tmp_path)) == []
    config = tmp_path / "server.toml"
    config.write_text(f'oidc_issuer = "{issuer.url}"\noidc_audience = "{AUDIENCE}"\n'
                      'oidc_subject_claim = "email"\noidc_groups_claim = "realm_access.roles"\n')
    [built] = external_verifiers(Settings.load(config_file=config, env={"WINGSPAN_HOME": str(tmp_path)}))
    assert isinstance(built, ExternalIssuer)
    try:
        principal = await built.verify(issuer.token(email="ada@example.com", realm_access={"roles": ["dev"]}))
        assert principal.subject == "ada@example.com" and principal.groups == {"dev"}
    finally:
        await built.aclose()


def test_an_issuer_is_configured_safely() -> None:
    with pytest.raises(ConfigError, match="plain http beyond loopback"):
        IssuerConfig("http://login.example.com/realms/team", AUDIENCE)
    with pytest.raises(ConfigError, match="not an http\\(s\\) URL"):
        IssuerConfig("login.example.com", AUDIENCE)
    with pytest.raises(ConfigError, match="oidc_audience is empty"):
        IssuerConfig("https://login.example.com/realms/team", "")
