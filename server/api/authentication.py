"""Who is calling, for both transports: the bearer token of a call, checked in one place.

gRPC calls carry it as metadata ``authorization: Bearer <token>``, HTTP requests as the
``Authorization`` header or, from the web console, the session cookie (HTTP only; see
:mod:`wingspan.server.auth.sessions`). When the server requires authentication, a call without a valid
token is refused UNAUTHENTICATED (HTTP 401) with what to do: ``wingspan login ENDPOINT``.
Only the health and readiness checks, GetVersion, the OAuth2 endpoints, the OpenAPI
document and signed blob URLs (which carry their own signature) answer without one.
When authentication is off, every call runs as :data:`~wingspan.server.auth.principal.ANONYMOUS`.

:class:`BearerAuthentication` is the HTTP side (an ASGI wrapper, so a refusal comes before
routing); the gRPC servicers call :meth:`CallAuthentication.principal` themselves.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any, Final

from wingspan.core.errors import PermissionDeniedError, UnauthenticatedError
from wingspan.core.storage.signing import BLOB_ROUTE
from wingspan.server.api.http_access import App, Receive, Scope, Send
from wingspan.server.api.http_errors import error_body
from wingspan.server.auth.principal import ANONYMOUS, Principal, acting_as
from wingspan.server.auth.sessions import ConsoleSessions
from wingspan.server.auth.verifier import TokenVerifier

__all__ = ["CSRF_COOKIE", "CSRF_HEADER", "OPEN_HTTP_PATHS", "SESSION_COOKIE", "BearerAuthentication",
           "CallAuthentication", "cookies_of"]

#: HTTP paths (exact, or prefixes ending in "/") that answer without a token
OPEN_HTTP_PATHS: Final = ("/healthz", "/readyz", "/api/v1/GetVersion", "/schema", "/schema/openapi.json",
                          "/oauth2/", "/.well-known/", "/auth/login", "/auth/callback", BLOB_ROUTE)
#: the console's cookies: the session (HttpOnly) and its CSRF token (read by the console's scripts)
SESSION_COOKIE: Final = "wingspan_session"
CSRF_COOKIE: Final = "wingspan_csrf"
#: the header that must repeat the CSRF cookie on a cookie-signed request that changes something
CSRF_HEADER: Final = b"x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SCHEME = "bearer "


class CallAuthentication:
    """The principal of a call from its ``authorization`` values; ``login_hint`` is the endpoint
    a refusal tells the caller to log in against. ``verifier`` None: authentication is off."""

    def __init__(self, verifier: TokenVerifier | None, login_hint: str) -> None:
        self.verifier = verifier
        self.login_hint = login_hint

    @property
    def required(self) -> bool:
        return self.verifier is not None

    async def principal(self, values: Sequence[str]) -> Principal:
        if self.verifier is None:
            return ANONYMOUS
        login = f"run `wingspan login {self.login_hint}` and call again"
        if not values:
            raise UnauthenticatedError(
                f"this server requires a token and the call carries none: {login} (or present one as "
                "'authorization: Bearer <token>')")
        presented = values[0]
        if len(values) > 1 or not presented.lower().startswith(_SCHEME):
            raise UnauthenticatedError(
                f"the call must carry one 'authorization: Bearer <token>': {login}")
        try:
            return await self.verifier.verify(presented[len(_SCHEME):].strip())
        except UnauthenticatedError as exc:
            raise UnauthenticatedError(f"{exc}; {login}") from exc


def _is_open(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in OPEN_HTTP_PATHS)


def cookies_of(scope: Scope) -> dict[str, str]:
    """The request's cookies by name (the first of a name wins)."""
    found: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        if key.lower() == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                name, sep, text = pair.strip().partition("=")
                if sep and name not in found:
                    found[name] = text.strip().strip('"')
    return found


def _is_console_page(scope: Scope) -> bool:
    path = scope.get("path", "")
    # "/" too: it only redirects to the console, and a browser opening the server's address
    # should land on the login, not on a 401 body
    return scope.get("method") in ("GET", "HEAD") and (
        path in ("/", "/console") or path.startswith("/console/"))


class BearerAuthentication:
    """ASGI: every HTTP request but those of :data:`OPEN_HTTP_PATHS` runs as the principal of its
    bearer token, or of the console's session cookie (``sessions``), or is answered 401 before it
    reaches a route. A request signed in by the cookie that is not GET, HEAD or OPTIONS must carry
    the X-CSRF-Token header equal to the ``wingspan_csrf`` cookie (403 otherwise). A browser
    opening a console page without either is sent to ``/auth/login`` and back."""

    def __init__(self, app: App, authentication: CallAuthentication,
                 sessions: ConsoleSessions | None = None) -> None:
        self.app = app
        self.authentication = authentication
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_open(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"authorization"]
        session = cookies_of(scope).get(SESSION_COOKIE, "") if self.sessions is not None else ""
        try:
            if session and not values:
                principal = await self._of_session(scope, session)
            else:
                principal = await self.authentication.principal(values)
        except UnauthenticatedError as exc:
            if not values and _is_console_page(scope):
                await _to_login(scope, send)
            else:
                await _refuse(send, 401, "UNAUTHENTICATED", str(exc))
            return
        except PermissionDeniedError as exc:
            await _refuse(send, 403, "PERMISSION_DENIED", str(exc))
            return
        with acting_as(principal):
            await self.app(scope, receive, send)

    async def _of_session(self, scope: Scope, value: str) -> Principal:
        assert self.sessions is not None
        csrf = None
        if scope.get("method") not in _SAFE_METHODS:
            header = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                           if k.lower() == CSRF_HEADER), "")
            csrf = (header, cookies_of(scope).get(CSRF_COOKIE, ""))
        return await self.sessions.principal(value, csrf)


async def _to_login(scope: Scope, send: Send) -> None:
    path = scope.get("path", "/console/")
    if path == "/":
        path = "/console/"
    query = scope.get("query_string", b"").decode("latin-1")
    target = f"{path}?{query}" if query else path
    location = "/auth/login?" + urllib.parse.urlencode({"next": target})
    headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0"),
               (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = error_body(status, code, message)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="wingspan"'))
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
