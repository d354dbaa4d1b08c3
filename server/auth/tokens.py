"""This server's access tokens: JWTs it signs (:class:`TokenIssuer`) and checks
(:class:`SignedTokenVerifier`), with joserfc.

A token names its issuer (``iss``, this server's URL), its audience (``aud``: ``wingspan``),
its subject, when it was issued and from when and until when it is valid (``iat``, ``nbf``,
``exp``), the client it was issued to and whether its subject is a service account. Only
ES256 is accepted: an unsigned token (``alg: none``) or one signed with any other algorithm
is refused before its claims are read.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection
from typing import Any, final

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import ECKey, GuestProtocol

from wingspan.core.errors import UnauthenticatedError
from wingspan.server.auth.keys import ALGORITHM, KeyRing
from wingspan.server.auth.principal import Principal

__all__ = ["AUDIENCE", "LEEWAY_SECONDS", "IssuedToken", "SignedTokenVerifier", "TokenIssuer"]

AUDIENCE = "wingspan"
#: clocks of replicas and clients differ a little
LEEWAY_SECONDS = 30


@final
class IssuedToken:
    __slots__ = ("expires_in", "value")

    def __init__(self, value: str, expires_in: int) -> None:
        self.value = value
        self.expires_in = expires_in

    def __repr__(self) -> str:
        return f"IssuedToken(<hidden>, expires_in={self.expires_in})"


@final
class TokenIssuer:
    """Signs access tokens with the key ring's current key."""

    def __init__(self, keys: KeyRing, issuer: str, lifetime_seconds: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.lifetime_seconds = lifetime_seconds

    async def issue(self, subject: str, *, client_id: str, scope: str = "",
                    service_account: bool = False, groups: Collection[str] = ()) -> IssuedToken:
        key = await self.keys.signer()
        issued = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": AUDIENCE, "sub": subject, "iat": issued, "nbf": issued,
            "exp": issued + self.lifetime_seconds, "jti": secrets.token_urlsafe(16),
            "client_id": client_id, "scope": scope, "svc": service_account,
        }
        if groups:
            claims["groups"] = sorted(groups)
        header = {"alg": ALGORITHM, "kid": key.kid, "typ": "at+jwt"}
        return IssuedToken(jwt.encode(header, claims, key, algorithms=[ALGORITHM]), self.lifetime_seconds)


@final
class SignedTokenVerifier:
    """A :class:`~wingspan.server.auth.verifier.TokenVerifier` of this server's own tokens."""

    def __init__(self, keys: KeyRing, issuer: str) -> None:
        self.keys = keys
        self.issuer = issuer

    async def verify(self, token: str) -> Principal:
        kid = _key_id(token)
        key = await self.keys.find(kid)
        if key is None:
            raise UnauthenticatedError(
                "the token is signed by a key this server does not know (or no longer publishes): "
                "log in again")
        found: ECKey = key

        def resolve(_guest: GuestProtocol) -> ECKey:
            return found

        try:
            decoded = jwt.decode(token, resolve, algorithms=[ALGORITHM])
        except BadSignatureError as exc:
            raise UnauthenticatedError("the token's signature is not valid: altered or forged") from exc
        except JoseError as exc:
            raise UnauthenticatedError(f"the token cannot be read ({exc.error}): log in again") from exc
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": AUDIENCE},
            sub={"essential": True},
            exp={"essential": True},
            nbf={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise UnauthenticatedError("the token has expired: log in again (or refresh it)") from exc
        except InvalidClaimError as exc:
            raise UnauthenticatedError(_invalid_claim(exc.claim, claims, self.issuer)) from exc
        except MissingClaimError as exc:
            raise UnauthenticatedError(f"the token lacks the claim {exc.claim!r}") from exc
        except JoseError as exc:  # e.g. "not valid yet" (nbf in the future)
            raise UnauthenticatedError(f"the token is not valid: {exc.error} ({exc.description})") from exc
        return Principal(
            subject=str(claims["sub"]),
            issuer=self.issuer,
            groups=frozenset(str(g) for g in claims.get("groups") or ()),
            is_service_account=claims.get("svc") is True,
            scopes=frozenset(str(claims.get("scope") or "").split()),
        )


def _key_id(token: str) -> str:
    """The key id of a token's header, refusing any algorithm but ours first (``alg: none``)."""
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise UnauthenticatedError("the bearer token is not a JWT this server issued") from exc
    if header.get("alg") != ALGORITHM:
        raise UnauthenticatedError(
            f"the token's algorithm {str(header.get('alg'))[:20]!r} is not accepted; this server signs "
            f"with {ALGORITHM} only")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise UnauthenticatedError("the token names no signing key (kid)")
    return kid


def _invalid_claim(claim: str, claims: dict[str, Any], issuer: str) -> str:
    if claim == "iss":
        return (f"the token was issued by {str(claims.get('iss'))[:200]!r}, not by this server "
                f"({issuer}): log in against this server")
    if claim == "aud":
        return f"the token is for another audience, not {AUDIENCE!r}"
    if claim == "nbf":
        return "the token is not valid yet (nbf is in the future): check the clocks"
    return f"the token's claim {claim!r} is not valid"
