"""Who is calling, for both transports: the bearer token of a call, checked in one place.

gRPC calls carry it as metadata ``authorization: Bearer <token>``, HTTP requests as the
``Authorization`` header. When the server requires authentication, a call without a valid
token is refused UNAUTHENTICATED (HTTP 401) with what to do: ``wingspan login ENDPOINT``.
Only the health and readiness checks, GetVersion, the OAuth2 endpoints, the OpenAPI
document and signed blob URLs (which carry their own signature) answer without one.
When authentication is off, every call runs as :data:`~wingspan.server.auth.principal.ANONYMOUS`.

:class:`BearerAuthentication` is the HTTP side (an ASGI wrapper, so a refusal comes before
routing); the gRPC servicers call :meth:`CallAuthentication.principal` themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from wingspan.core.errors import UnauthenticatedError
from wingspan.core.storage.signing import BLOB_ROUTE
from wingspan.server.api.http_access import App, Receive, Scope, Send
from wingspan.server.api.http_errors import error_body
from wingspan.server.auth.principal import ANONYMOUS, Principal, acting_as
from wingspan.server.auth.verifier import TokenVerifier

__all__ = ["OPEN_HTTP_PATHS", "BearerAuthentication", "CallAuthentication"]

#: HTTP paths (exact, or prefixes ending in "/") that answer without a token
OPEN_HTTP_PATHS: Final = ("/healthz", "/readyz", "/api/v1/GetVersion", "/schema", "/schema/openapi.json",
                          "/oauth2/", "/.well-known/", BLOB_ROUTE)
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


class BearerAuthentication:
    """ASGI: every HTTP request but those of :data:`OPEN_HTTP_PATHS` runs as the principal of its
    bearer token, or is answered 401 before it reaches a route."""

    def __init__(self, app: App, authentication: CallAuthentication) -> None:
        self.app = app
        self.authentication = authentication

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_open(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"authorization"]
        try:
            principal = await self.authentication.principal(values)
        except UnauthenticatedError as exc:
            await _refuse(send, str(exc))
            return
        with acting_as(principal):
            await self.app(scope, receive, send)


async def _refuse(send: Send, message: str) -> None:
    body = error_body(401, "UNAUTHENTICATED", message)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="wingspan"')]
    start: dict[str, Any] = {"type": "http.response.start", "status": 401, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
