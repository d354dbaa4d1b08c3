"""This server's access tokens: what is accepted, what is refused and why, and key rotation."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey

from tests.unit.auth.conftest import ISSUER
from wingspan.core.errors import UnauthenticatedError
from wingspan.server.auth.keys import KeyRing
from wingspan.server.auth.tokens import AUDIENCE, SignedTokenVerifier, TokenIssuer


def claims(**changes: Any) -> dict[str, Any]:
    at = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": at, "nbf": at, "exp": at + 600,
            "client_id": "wingspan-cli", "scope": "", "svc": False}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


async def signed(keys: KeyRing, payload: dict[str, Any], key: ECKey | None = None) -> str:
    signer = key or await keys.signer()
    return jwt.encode({"alg": "ES256", "kid": signer.kid}, payload, signer, algorithms=["ES256"])


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_an_issued_token_names_its_subject_and_whether_it_is_a_service_account(keys: KeyRing) -> None:
    issuer, verifier = TokenIssuer(keys, ISSUER, 900), SignedTokenVerifier(keys, ISSUER)
    person = await verifier.verify((await issuer.issue("alice", client_id="wingspan-cli")).value)
    assert (person.subject, person.is_service_account, person.issuer) == ("alice", False, ISSUER)
    engine = await verifier.verify((await issuer.issue("engine", client_id="engine", service_account=True,
                                                        scope="engine")).value)
    assert engine.is_service_account and engine.scopes == {"engine"}


# times as offsets from when the test runs (not from when it was collected, maybe long before)
@pytest.mark.parametrize(("changes", "why"), [
    ({"exp": -120}, "has expired"),
    ({"nbf": 600}, "not valid yet"),
    ({"aud": "another-service"}, "another audience"),
    ({"iss": "https://evil.example"}, "issued by 'https://evil.example', not by this server"),
    ({"sub": None}, "lacks the claim 'sub'"),
])
async def test_a_token_outside_its_time_or_for_someone_else_is_refused(
        keys: KeyRing, changes: dict[str, Any], why: str) -> None:
    verifier = SignedTokenVerifier(keys, ISSUER)
    assert (await verifier.verify(await signed(keys, claims()))).subject == "alice"
    changes = {k: int(time.time()) + v if k in ("exp", "nbf") else v for k, v in changes.items()}
    with pytest.raises(UnauthenticatedError, match=why):
        await verifier.verify(await signed(keys, claims(**changes)))


async def test_unsigned_tampered_or_foreign_key_tokens_are_refused(keys: KeyRing) -> None:
    verifier = SignedTokenVerifier(keys, ISSUER)
    good = await signed(keys, claims())
    header, _payload, signature = good.split(".")
    kid = (await keys.signer()).kid
    # alg none: no signature at all
    with pytest.raises(UnauthenticatedError, match="algorithm 'none' is not accepted"):
        await verifier.verify(f"{b64({'alg': 'none', 'kid': kid})}.{b64(claims(sub='admin'))}.")
    # a payload changed under a valid signature
    with pytest.raises(UnauthenticatedError, match="signature is not valid"):
        await verifier.verify(f"{header}.{b64(claims(sub='admin'))}.{signature}")
    # another key under our key id, and a key id nobody published
    forged_key = ECKey.generate_key("P-256", parameters={"kid": str(kid)})
    with pytest.raises(UnauthenticatedError, match="signature is not valid"):
        await verifier.verify(await signed(keys, claims(), forged_key))
    stranger = ECKey.generate_key("P-256", parameters={"kid": "stranger"})
    with pytest.raises(UnauthenticatedError, match="key this server does not know"):
        await verifier.verify(await signed(keys, claims(), stranger))
    # HS256 keyed with the public key (the algorithm confusion attack)
    public = OctKey.import_key(json.dumps((await keys.signer()).as_dict(private=False)).encode())
    confused = jwt.encode({"alg": "HS256", "kid": kid}, claims(sub="admin"), public, algorithms=["HS256"])
    with pytest.raises(UnauthenticatedError, match="'HS256' is not accepted"):
        await verifier.verify(confused)
    for junk in ("", "not-a-jwt", "a.b.c", good + "x"):
        with pytest.raises(UnauthenticatedError):
            await verifier.verify(junk)


async def test_rotation_refuses_no_valid_token_and_publishes_both_keys(keys: KeyRing) -> None:
    issuer, verifier = TokenIssuer(keys, ISSUER, 900), SignedTokenVerifier(keys, ISSUER)
    before = (await issuer.issue("alice", client_id="wingspan-cli")).value
    old_kid = (await keys.signer()).kid
    new_kid = await keys.rotate()
    assert new_kid != old_kid and (await keys.signer()).kid == new_kid
    after = (await issuer.issue("bob", client_id="wingspan-cli")).value
    assert (await verifier.verify(before)).subject == "alice"
    assert (await verifier.verify(after)).subject == "bob"
    published = {k["kid"] for k in (await keys.jwks())["keys"]}
    assert published == {old_kid, new_kid}
    assert all("d" not in k for k in (await keys.jwks())["keys"])  # never a private half


async def test_a_replica_finds_a_key_another_replica_made(keys: KeyRing) -> None:
    other = KeyRing(keys.db, sign_seconds=3600, token_seconds=900, sealer=keys.sealer)
    token = (await TokenIssuer(other, ISSUER, 900).issue("alice", client_id="wingspan-cli")).value
    assert (await SignedTokenVerifier(keys, ISSUER).verify(token)).subject == "alice"


async def test_a_key_past_its_signing_time_is_replaced_and_its_tokens_stay_valid(keys: KeyRing) -> None:
    # a key that signs for no time at all: every token is signed by a new key
    brief = KeyRing(keys.db, sign_seconds=0, token_seconds=900, sealer=keys.sealer)
    issuer, verifier = TokenIssuer(brief, ISSUER, 900), SignedTokenVerifier(keys, ISSUER)
    tokens = [(await issuer.issue(f"user{n}", client_id="wingspan-cli")).value for n in range(3)]
    kids = {jws.extract_compact(t.encode()).protected["kid"] for t in tokens}
    assert len(kids) == 3
    assert [(await verifier.verify(t)).subject for t in tokens] == ["user0", "user1", "user2"]
