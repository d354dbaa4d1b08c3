"""Trusting an external OIDC issuer's access tokens (Keycloak, Dex, Okta, Entra ID...).

:class:`ExternalIssuer` is a :class:`~wingspan.server.auth.verifier.TokenVerifier`: it reads the
issuer's discovery document (``ISSUER/.well-known/openid-configuration``) for its ``jwks_uri``,
keeps the issuer's public keys, and accepts a JWT signed by one of them (with one of the
asymmetric algorithms, never ``none`` nor a shared-secret HMAC) whose ``iss`` is the issuer,
whose ``aud`` names our audience, and whose ``exp``/``nbf`` hold now (with a little leeway for
clocks). The keys are fetched again when a token names a key id not among them (the issuer
rotated its keys), at most once per ``refetch_interval`` for such ids, so a stream of forged
key ids cannot make us hammer the issuer, and after ``max_key_age`` in any case (a key the issuer withdrew
stops being trusted). A token accepted once is remembered (by its hash) until it expires, five
minutes at most, so the same token sent with every call is checked whole only once. The subject
and the groups come from claims named in the settings
(``oidc_subject_claim``, ``oidc_groups_claim``; a dotted name reads a nested claim, as
Keycloak's ``realm_access.roles``).

JWT parsing and signature checks are joserfc's; nothing here is cryptography of our own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, final
from urllib.parse import urlsplit

import anyio
import httpx
from joserfc import errors as jose
from joserfc import jws, jwt
from joserfc.jwk import KeySet

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError, UnauthenticatedError, UnavailableError
from wingspan.core.loopback import is_loopback
from wingspan.server.auth.principal import Principal
from wingspan.server.auth.verifier import TokenVerifier

__all__ = ["ALGORITHMS", "ExternalIssuer", "IssuerConfig", "external_verifiers"]

log = logging.getLogger("wingspan.server.auth")

#: how many accepted tokens are remembered, and for how long at most (a withdrawn key stops
#: vouching for its tokens within this time)
ACCEPTED_TOKENS = 4096
ACCEPTED_SECONDS = 300.0

#: what an issuer may sign with: asymmetric only (an HMAC key would be a secret shared with us)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """One trusted issuer: its URL (exactly as its tokens' ``iss``), the audience our tokens carry,
    and which claims name the subject and the groups."""

    issuer: str
    audience: str
    subject_claim: str = "sub"
    groups_claim: str = "groups"
    leeway_seconds: int = 30

    def __post_init__(self) -> None:
        url = urlsplit(self.issuer)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ConfigError(f"oidc_issuer {self.issuer!r} is not an http(s) URL; give the issuer exactly "
                              "as its tokens' iss claim says, e.g. https://login.example.com/realms/team")
        if url.scheme == "http" and not is_loopback(url.hostname):
            raise ConfigError(f"oidc_issuer {self.issuer!r} is plain http beyond loopback: its keys could be "
                              "replaced on the way; use its https:// URL")
        if not self.audience:
            raise ConfigError("oidc_audience is empty: name the audience the issuer puts in tokens for this "
                              "server (a token for another service must not be accepted here)")

    @classmethod
    def from_settings(cls, settings: Settings) -> IssuerConfig | None:
        if not settings.oidc_issuer:
            return None
        return cls(settings.oidc_issuer, settings.oidc_audience,
                   subject_claim=settings.oidc_subject_claim or "sub",
                   groups_claim=settings.oidc_groups_claim)


def external_verifiers(settings: Settings) -> list[TokenVerifier]:
    """The verifiers of the external issuers ``settings`` trusts (none or one today)."""
    config = IssuerConfig.from_settings(settings)
    return [ExternalIssuer(config)] if config is not None else []


@final
class ExternalIssuer:
    """The tokens of one external issuer, checked against its published keys."""

    def __init__(self, config: IssuerConfig, *, refetch_interval: float = 10.0, max_key_age: float = 3600.0,
                 timeout: float = 10.0, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        # tokens accepted lately (sha256 -> until when, whose): a client sends the same token with
        # every call, and checking its signature again each time costs 0.3-0.6 ms
        self._accepted: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()
        self.refetch_interval = refetch_interval
        self.max_key_age = max_key_age
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._lock = anyio.Lock()
        self._jwks_uri = ""
        self._discovery: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        # when a token's unknown key id last made us read the keys again
        self._refetched_at = float("-inf")
        self._claims = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()), leeway=config.leeway_seconds,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.audience},
            exp={"essential": True})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        accepted = self._accepted.get(digest)
        if accepted is not None:
            if self._clock() < accepted[0]:
                self._accepted.move_to_end(digest)
                return accepted[1]
            del self._accepted[digest]  # expired since: checked whole below, and refused saying so
        principal, expires = await self._verify(token)
        self._accepted[digest] = (min(expires + self.config.leeway_seconds, self._clock() + ACCEPTED_SECONDS),
                                  principal)
        if len(self._accepted) > ACCEPTED_TOKENS:
            self._accepted.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        """The token's principal and expiry, or UnauthenticatedError saying why not."""
        header, claimed_issuer = _unverified(token)
        if claimed_issuer != self.config.issuer:
            # another issuer's token (this server's own, say): refused without a look at our
            # issuer's keys, so that an issuer that is down does not turn it into a 503
            raise UnauthenticatedError(f"the token was issued by {claimed_issuer!r}, not by the trusted "
                                       f"issuer {self.config.issuer!r}")
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise UnauthenticatedError(
                f"the token's algorithm {algorithm!r} is not accepted from {self.config.issuer} (unsigned "
                f"and shared-secret tokens never are); accepted: {', '.join(ALGORITHMS)}")
        kid = header.get("kid")
        keys = await self._keys_for(kid if isinstance(kid, str) else None)
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except jose.InvalidKeyIdError:
            raise UnauthenticatedError(f"the token is signed with a key (kid {kid!r}) that "
                                       f"{self.config.issuer} does not publish") from None
        except jose.BadSignatureError:
            raise UnauthenticatedError(f"the token's signature does not verify with {self.config.issuer}'s "
                                       f"key (kid {kid!r}): it was changed, or signed with another "
                                       "key") from None
        except jose.JoseError as exc:
            raise UnauthenticatedError(f"the token cannot be read as a JWT of {self.config.issuer}: "
                                       f"{exc.error}") from None
        self._check_claims(decoded.claims)
        return self._principal(decoded.claims), float(decoded.claims["exp"])

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        issuer = self.config.issuer
        try:
            self._claims.validate(dict(claims))
        except jose.ExpiredTokenError:
            raise UnauthenticatedError(f"the token of {issuer} has expired; get a new one") from None
        except jose.MissingClaimError as exc:
            raise UnauthenticatedError(f"the token lacks the claim {exc.claim!r}, which tokens of {issuer} "
                                       "must carry here") from None
        except jose.InvalidClaimError as exc:
            if exc.claim == "iss":
                raise UnauthenticatedError(f"the token was issued by {claims.get('iss')!r}, not by the "
                                           f"trusted issuer {issuer!r}") from None
            if exc.claim in ("nbf", "iat"):
                raise UnauthenticatedError(f"the token of {issuer} is not valid yet ({exc.claim} in the "
                                           "future; is a clock wrong?)") from None
            if exc.claim == "aud":
                raise UnauthenticatedError(f"the token is for the audience {claims.get('aud')!r}, not for "
                                           f"this server's {self.config.audience!r}") from None
            raise UnauthenticatedError(f"the token's claim {exc.claim!r} is not valid") from None

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = _claim(claims, self.config.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise UnauthenticatedError(f"the token has no text claim {self.config.subject_claim!r} to name "
                                       "its subject (oidc_subject_claim)")
        groups = _claim(claims, self.config.groups_claim) if self.config.groups_claim else None
        if isinstance(groups, str):
            groups = [groups]
        listed = groups if isinstance(groups, list) else []
        found = frozenset(g for g in listed if isinstance(g, str))
        scopes = claims.get("scope")
        return Principal(subject=subject, issuer=self.config.issuer, groups=found,
                         scopes=frozenset(scopes.split()) if isinstance(scopes, str) else frozenset())

    async def _keys_for(self, kid: str | None) -> KeySet:
        """The issuer's keys, fetched again when ``kid`` is not among them or they are old."""
        async with self._lock:
            now = time.monotonic()
            stale = now - self._fetched_at > self.max_key_age
            unknown = kid is not None and self._keys is not None and not _has(self._keys, kid)
            refetch = unknown and now - self._refetched_at >= self.refetch_interval
            if self._keys is None or stale or refetch:
                if refetch:
                    self._refetched_at = now
                try:
                    self._keys = await self._fetch_keys()
                    self._fetched_at = now
                except UnavailableError:
                    if self._keys is None:
                        raise
                    log.warning("keeping the keys of %s fetched %.0f s ago: the issuer cannot be reached",
                                self.config.issuer, now - self._fetched_at, exc_info=True)
            assert self._keys is not None
            return self._keys

    async def discovery(self) -> dict[str, Any]:
        """The issuer's discovery document (read once), checked to name the issuer itself."""
        if self._discovery is None:
            issuer = self.config.issuer
            document = await self._get_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
            if document.get("issuer") != issuer:
                raise UnavailableError(
                    f"the discovery document of {issuer} names the issuer {document.get('issuer')!r}; "
                    "set oidc_issuer to exactly the issuer its tokens carry")
            self._discovery = document
        return self._discovery

    async def redeem_code(self, form: Mapping[str, str]) -> str:
        """The access token the issuer's token endpoint gives for an authorization code (``form``:
        the grant's fields); UnauthenticatedError with the issuer's reason when it refuses."""
        endpoint = (await self.discovery()).get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise UnavailableError(f"the discovery document of {self.config.issuer} has no token_endpoint")
        try:
            answer = await self._http.post(endpoint, data=dict(form), headers={"Accept": "application/json"})
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UnavailableError(
                f"cannot redeem a login code at {endpoint} ({type(exc).__name__})") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if answer.status_code != 200 or not isinstance(token, str):
            why = body.get("error_description") or body.get("error") if isinstance(body, dict) else ""
            raise UnauthenticatedError(f"{self.config.issuer} refused the login code: {str(why)[:200]}")
        return token

    async def _fetch_keys(self) -> KeySet:
        if not self._jwks_uri:
            jwks_uri = (await self.discovery()).get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri:
                raise UnavailableError(f"the discovery document of {self.config.issuer} has no jwks_uri")
            self._jwks_uri = jwks_uri
        document = await self._get_json(self._jwks_uri)
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (jose.JoseError, ValueError, KeyError, TypeError) as exc:
            raise UnavailableError(f"the keys of {self.config.issuer} ({self._jwks_uri}) cannot be read: "
                                   f"{exc}") from None
        log.info("read %d keys of %s", len(keys.keys), self.config.issuer)
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UnavailableError(f"cannot check tokens of {self.config.issuer}: reading {url} failed "
                                   f"({type(exc).__name__}: {exc})") from None
        if not isinstance(document, dict):
            raise UnavailableError(f"cannot check tokens of {self.config.issuer}: {url} is not a JSON object")
        return document


def _unverified(token: str) -> tuple[dict[str, Any], Any]:
    """The JWS header and the claimed issuer, read before any key is chosen: to refuse ``none``,
    find the key id, and pass over another issuer's token without reading our issuer's keys."""
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        header = dict(compact.headers())
    except (jose.JoseError, UnicodeError, ValueError) as exc:
        why = getattr(exc, "error", exc)
        raise UnauthenticatedError(f"the bearer token is not a signed JWT ({why})") from None
    try:
        claims = json.loads(compact.payload)
    except ValueError:
        claims = None
    return header, claims.get("iss") if isinstance(claims, dict) else None


def _has(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name; when there is none of that name, ``a.b`` reads ``b`` inside the object ``a``
    (names with dots of their own, as namespaced ``https://example.com/roles``, are found whole)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
