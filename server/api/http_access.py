"""Which HTTP requests reach the app at all: the Host, the Origin and the content type.

A web page in the user's browser must not drive a server on the user's machine:

- **Host** (against DNS rebinding, where a page's own name resolves to 127.0.0.1): on a
  loopback bind only ``localhost``, ``127.0.0.1`` and ``[::1]`` (any port) and the names of
  ``allowed_hosts`` are answered; off loopback, when ``allowed_hosts`` is set, only those
  and the bound address. Applies to every route, health and metrics included.
- **Origin**: a request carrying an Origin that is neither the server's own (same scheme,
  host and port as the Host it was sent to) nor one of ``cors_origins`` is refused, so a
  cross-origin ``text/plain`` POST (a "simple" request no preflight guards) changes
  nothing. A configured origin gets CORS answers, preflight included.
- **Content type**: the RPCs (``POST /api/v1/<Method>``) take ``application/json`` only,
  which a page cannot send cross-origin without a preflight.

Refusals are answered here in the API's error shape, before any route runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from wingspan.core.storage.signing import BLOB_ROUTE
from wingspan.server.api.exposure import is_loopback
from wingspan.server.api.http_errors import error_body

__all__ = ["AccessRules", "HttpAccess"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_RPC_PREFIX = "/api/v1/"
_PREFLIGHT_MAX_AGE = "600"


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _host_name(host: str) -> str:
    """``example.com:8080`` -> ``example.com``; ``[::1]:80`` -> ``[::1]``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class AccessRules:
    """What :class:`HttpAccess` accepts, from the settings ``http_host``, ``allowed_hosts`` and
    ``cors_origins``."""

    def __init__(self, *, bound_host: str, allowed_hosts: str = "", cors_origins: str = "") -> None:
        allowed = [h.lower() for h in _split_list(allowed_hosts)]
        self.check_host = bool(allowed) or is_loopback(bound_host)
        bound = bound_host.lower()
        bound = f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound
        self.hosts = frozenset([*allowed, *(_host_name(h) for h in allowed), bound])
        if is_loopback(bound_host):
            self.hosts |= frozenset(_LOOPBACK_NAMES)
        self.origins = frozenset(o.rstrip("/").lower() for o in _split_list(cors_origins))

    def host_allowed(self, host: str) -> bool:
        return not self.check_host or host.lower() in self.hosts or _host_name(host) in self.hosts


class HttpAccess:
    """ASGI middleware applying :class:`AccessRules` in front of the whole app."""

    def __init__(self, app: App, rules: AccessRules) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if not host or not self.rules.host_allowed(host):
            shown = repr(host) if host else "(none)"
            await _refuse(scope, send, 403, "PERMISSION_DENIED", (
                f"Host {shown} is not served here; this server answers on "
                f"{', '.join(sorted(self.rules.hosts))}. To reach it under another name, add the name to "
                "allowed_hosts (WINGSPAN_ALLOWED_HOSTS)"))
            return
        origin = headers.get("origin")
        cors: list[tuple[bytes, bytes]] = []
        if origin is not None and not self._same_origin(origin, host, scope):
            if origin.rstrip("/").lower() not in self.rules.origins:
                await _refuse(scope, send, 403, "PERMISSION_DENIED", (
                    f"cross-origin request from {origin[:200]!r} refused: add the origin to cors_origins "
                    "(WINGSPAN_CORS_ORIGINS) to let its pages call this server"))
                return
            cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await _preflight(send, cors, headers)
                return
        path = scope.get("path", "")
        if (scope["type"] == "http" and scope["method"] == "POST" and path.startswith(_RPC_PREFIX)
                and not path.startswith(BLOB_ROUTE)):
            media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media_type != "application/json":
                shown = repr(media_type) if media_type else "none"
                await _refuse(scope, send, 415, "INVALID_ARGUMENT", (
                    f"content type {shown} is not accepted: send the request as JSON with "
                    "'Content-Type: application/json'"), cors)
                return
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *cors]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def _same_origin(origin: str, host: str, scope: Scope) -> bool:
        """Whether ``origin`` is the scheme, host and port the request was sent to."""
        scheme = scope.get("scheme", "http")
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        parts = urlsplit(origin)
        if parts.scheme != scheme or not parts.netloc:
            return False
        default_port = {"http": "80", "https": "443"}.get(scheme, "")
        return _with_port(parts.netloc, default_port) == _with_port(host, default_port)


def _with_port(netloc: str, default_port: str) -> str:
    netloc = netloc.lower()
    return netloc if _host_name(netloc) != netloc else f"{netloc}:{default_port}"


async def _preflight(send: Send, cors: list[tuple[bytes, bytes]], headers: dict[str, str]) -> None:
    requested = headers.get("access-control-request-headers", "")
    allow = [
        *cors,
        (b"access-control-allow-methods", b"GET, POST, PUT, OPTIONS"),
        (b"access-control-allow-headers", (requested or "content-type").encode("latin-1")),
        (b"access-control-max-age", _PREFLIGHT_MAX_AGE.encode()),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": allow})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    if scope["type"] == "websocket":  # 1008: policy violation
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = error_body(status, code, message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
