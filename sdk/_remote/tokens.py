"""Access tokens for calls to a server that requires them: where a client gets one.

A :class:`TokenProvider` is anything with ``async def token() -> str``. The ones here:

- :class:`ClientCredentials`: a service account's id and secret (CI, engines, scripts), traded
  at the server's token endpoint for an access token, traded again shortly before it expires.
  :func:`provider_for` uses it when ``WINGSPAN_CLIENT_ID`` and ``WINGSPAN_CLIENT_SECRET`` are set.
- :class:`StoredLogin`: the tokens ``wingspan login`` cached for an endpoint in
  ``$WINGSPAN_HOME/tokens.json`` (mode 0600), refreshed with the refresh token when the access
  token is about to expire; each refresh token is used once and the new one written back.
- :class:`StaticToken`: a token given as it is (``WINGSPAN_TOKEN``).

No token value is ever logged or shown in a ``repr``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, final, runtime_checkable

import httpx

from wingspan.core.errors import UnauthenticatedError, UnavailableError, UserError

__all__ = [
    "CLI_CLIENT_ID",
    "ClientCredentials",
    "StaticToken",
    "StoredLogin",
    "TokenCache",
    "TokenProvider",
    "Verify",
    "discover",
    "entry_from",
    "post_token",
    "provider_for",
    "revoke",
]

#: the server's built-in public client for the CLI and Remote
CLI_CLIENT_ID = "wingspan-cli"
#: a token is traded again this long before it expires
_EARLY_SECONDS = 60


@runtime_checkable
class TokenProvider(Protocol):
    async def token(self) -> str: ...


@final
class StaticToken:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"

    async def token(self) -> str:
        return self._value


#: how an HTTPS answer is checked: True (the system's CAs) or a context that also trusts a
#: private CA (:meth:`~wingspan._remote.endpoint.Endpoint.http_verify`, from ``--ca``)
Verify = ssl.SSLContext | bool


async def discover(http_url: str, *, verify: Verify = True) -> dict[str, Any]:
    """The server's OAuth2 metadata (RFC 8414): its token and authorization endpoints."""
    async with httpx.AsyncClient(timeout=30, verify=verify) as http:
        answer = await http.get(f"{http_url.rstrip('/')}/.well-known/oauth-authorization-server")
    if answer.status_code != 200:
        raise UserError(f"{http_url} has no authorization server (/.well-known/oauth-authorization-server "
                        f"answered {answer.status_code})")
    metadata: dict[str, Any] = answer.json()
    return metadata


async def post_token(token_url: str, form: Mapping[str, str], *, auth: tuple[str, str] | None = None,
                     verify: Verify = True) -> dict[str, Any]:
    """The token endpoint's answer to ``form``; its OAuth2 error raised as UnauthenticatedError."""
    async with httpx.AsyncClient(timeout=30, auth=httpx.BasicAuth(*auth) if auth else None,
                                 verify=verify) as http:
        answer = await http.post(token_url, data=dict(form))
    body: dict[str, Any] = answer.json() if answer.headers.get("content-type", "").startswith(
        "application/json") else {}
    if answer.status_code != 200:
        error = body.get("error", f"HTTP {answer.status_code}")
        why = body.get("error_description", answer.text[:200])
        raise UnauthenticatedError(f"{token_url}: {error}: {why}")
    return body


@final
class ClientCredentials:
    """A service account's access tokens (OAuth2 client credentials grant).

    ``token_url`` is the server's token endpoint; or give ``http_url`` and it is discovered.
    ``verify`` checks the server's HTTPS certificate (a private CA's: ``endpoint.http_verify()``)."""

    def __init__(self, client_id: str, client_secret: str, *, token_url: str = "", http_url: str = "",
                 scope: str = "", verify: Verify = True) -> None:
        if not token_url and not http_url:
            raise UserError("ClientCredentials needs the token endpoint (token_url) or the server (http_url)")
        self.client_id = client_id
        self._secret = client_secret
        self.token_url = token_url
        self.http_url = http_url
        self.scope = scope
        self.verify = verify
        self._access = ""
        self._expires = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ClientCredentials({self.client_id!r}, <hidden>)"

    async def token(self) -> str:
        async with self._lock:
            if not self._access or time.time() >= self._expires - _EARLY_SECONDS:
                if not self.token_url:
                    metadata = await discover(self.http_url, verify=self.verify)
                    self.token_url = str(metadata["token_endpoint"])
                form = {"grant_type": "client_credentials"}
                if self.scope:
                    form["scope"] = self.scope
                body = await post_token(self.token_url, form, auth=(self.client_id, self._secret),
                                        verify=self.verify)
                self._access = str(body["access_token"])
                self._expires = time.time() + float(body.get("expires_in", 300))
            return self._access


@final
class TokenCache:
    """Tokens per endpoint in one JSON file only its owner may read (0600), replaced whole on
    each write so that a reader never sees half of one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> TokenCache:
        from wingspan.core.config import default_home

        env = os.environ if env is None else env
        home = Path(env["WINGSPAN_HOME"]).expanduser() if env.get("WINGSPAN_HOME") else default_home()
        return cls(home / "tokens.json")

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UserError(
                f"cannot read the token cache {self.path}: {exc}; delete it and log in again") from exc
        return data if isinstance(data, dict) else {}

    def get(self, endpoint: str) -> dict[str, Any] | None:
        entry = self._read().get(endpoint)
        return entry if isinstance(entry, dict) else None

    def put(self, endpoint: str, entry: Mapping[str, Any] | None) -> None:
        data = self._read()
        if entry is None:
            data.pop(endpoint, None)
        else:
            data[endpoint] = dict(entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def entry_from(body: Mapping[str, Any], token_url: str, revocation_url: str = "") -> dict[str, Any]:
    """What the cache keeps of a token answer."""
    return {"access_token": body["access_token"], "refresh_token": body.get("refresh_token", ""),
            "expires_at": time.time() + float(body.get("expires_in", 300)), "token_url": token_url,
            "revocation_url": revocation_url}


async def revoke(entry: Mapping[str, Any], *, verify: Verify = True) -> None:
    """Gives a cached login's refresh token back to the server, which ends that login (RFC 7009)."""
    if entry.get("refresh_token") and entry.get("revocation_url"):
        try:
            async with httpx.AsyncClient(timeout=30, verify=verify) as http:
                answer = await http.post(str(entry["revocation_url"]), data={
                    "token": str(entry["refresh_token"]), "token_type_hint": "refresh_token",
                    "client_id": CLI_CLIENT_ID})
        except httpx.HTTPError as exc:
            raise UnavailableError(f"cannot reach {entry['revocation_url']}: {exc}") from exc
        if answer.status_code != 200:
            raise UnauthenticatedError(f"the server did not take the login back: HTTP {answer.status_code}")


@final
class StoredLogin:
    """The tokens of ``wingspan login`` for ``endpoint``, refreshed on their own."""

    def __init__(self, endpoint: str, cache: TokenCache, *, verify: Verify = True) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self.verify = verify
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"StoredLogin({self.endpoint!r})"

    async def token(self) -> str:
        async with self._lock:
            entry = self.cache.get(self.endpoint)
            if entry is None:
                raise UnauthenticatedError(
                    f"not logged in to {self.endpoint}: run `wingspan login {self.endpoint}`")
            if time.time() < float(entry.get("expires_at", 0)) - _EARLY_SECONDS:
                return str(entry["access_token"])
            if not entry.get("refresh_token"):
                raise UnauthenticatedError(
                    f"the login to {self.endpoint} has expired: run `wingspan login {self.endpoint}`")
            try:
                body = await post_token(str(entry["token_url"]), {
                    "grant_type": "refresh_token", "refresh_token": str(entry["refresh_token"]),
                    "client_id": CLI_CLIENT_ID}, verify=self.verify)
            except UnauthenticatedError as exc:
                self.cache.put(self.endpoint, None)  # a refused refresh token is of no further use
                raise UnauthenticatedError(
                    f"the login to {self.endpoint} cannot be renewed ({exc}): run `wingspan login "
                    f"{self.endpoint}`") from exc
            fresh = entry_from(body, str(entry["token_url"]), str(entry.get("revocation_url", "")))
            self.cache.put(self.endpoint, fresh)
            return str(fresh["access_token"])


def provider_for(endpoint: str, http_url: str, *, env: Mapping[str, str] | None = None,
                 cache: TokenCache | None = None, verify: Verify = True) -> TokenProvider | None:
    """How a client of ``endpoint`` gets tokens: ``WINGSPAN_TOKEN``; else a service account from
    ``WINGSPAN_CLIENT_ID`` and ``WINGSPAN_CLIENT_SECRET`` (CI); else the login cached for the
    endpoint; else None (the server is called without a token)."""
    env = os.environ if env is None else env
    if env.get("WINGSPAN_TOKEN"):
        return StaticToken(env["WINGSPAN_TOKEN"])
    if env.get("WINGSPAN_CLIENT_ID") and env.get("WINGSPAN_CLIENT_SECRET"):
        if not http_url:
            raise UserError(f"{endpoint} did not say where its token endpoint is (no HTTP address)")
        return ClientCredentials(env["WINGSPAN_CLIENT_ID"], env["WINGSPAN_CLIENT_SECRET"], http_url=http_url,
                                 verify=verify)
    cache = cache or TokenCache.default(env)
    return StoredLogin(endpoint, cache, verify=verify) if cache.get(endpoint) is not None else None
