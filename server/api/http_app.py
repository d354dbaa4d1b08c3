"""The HTTP transport: a Litestar app with every RPC as ``POST /api/v1/<Method>`` (JSON), and the
reads also as ``GET`` routes shaped like Flyte's HTTP gateway (:mod:`.resources`).

Routes are made from the method table: each decodes the body into the IDL request
(:mod:`.messages`), calls the backend and answers the response message as JSON,
or, for a streaming RPC, one JSON object per line. Beside them: the OpenAPI
document at ``/schema`` (also ``/schema/openapi.json``), ``/healthz`` (the process
answers), ``/readyz`` (the database answers and the server is not draining),
``/metrics`` (Prometheus), and the signed blob URLs of a local folder store.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from wingspan.core import tracing
from wingspan.core.config import Settings
from wingspan.core.storage import LocalBlobStore, UrlSigner
from wingspan.core.version import VERSION
from wingspan.server.api.authentication import BearerAuthentication, CallAuthentication
from wingspan.server.api.backend import ApiBackend
from wingspan.server.api.blobs import blob_routes
from wingspan.server.api.draining_streams import DrainingStreams
from wingspan.server.api.encoded import plain
from wingspan.server.api.http_access import AccessRules, HttpAccess
from wingspan.server.api.http_errors import (
    error_body,
    error_response,
    exception_response,
    http_exception_handler,
    status_of,
)
from wingspan.server.api.messages import decode_json, encode_json
from wingspan.server.api.methods import Method, methods
from wingspan.server.api.metrics import CONTENT_TYPE, ApiMetrics
from wingspan.server.api.oauth_routes import oauth_routes
from wingspan.server.api.openapi import openapi_document
from wingspan.server.api.private_paths import PrivatePaths
from wingspan.server.api.resources import resource_routes
from wingspan.server.api.session_routes import session_routes
from wingspan.server.auth.service import AuthService

__all__ = ["DEFAULT_MAX_BODY_BYTES", "HttpState", "create_app"]

#: request bodies above this are refused (413); large data goes through the data proxy
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
_JSON = "application/json"


class HttpState:
    """What the app's routes share: the backend, metrics, and whether the server drains."""

    def __init__(self, backend: ApiBackend, metrics: ApiMetrics, settings: Settings) -> None:
        self.backend = backend
        self.metrics = metrics
        self.max_text_chars = settings.max_text_chars
        self.private = PrivatePaths.from_settings(settings)
        self.draining = False
        #: set with ``draining``: the event streams open end (:mod:`.draining_streams`)
        self.drained = anyio.Event()

    def drain(self) -> None:
        """The server stops: readiness fails from now on, and the event streams open end."""
        self.draining = True
        self.drained.set()


def _rpc_route(method: Method, state: HttpState) -> HTTPRouteHandler:
    async def call(request: Request[Any, Any, Any]) -> Response[Any]:
        started = time.perf_counter()
        response, code = await _answer(method, state, request)
        state.metrics.observe("http", method.name, code, time.perf_counter() - started)
        return response

    call.__name__ = call.__qualname__ = f"rpc_{method.attr}"
    return post(f"/api/v1/{method.name}", name=method.attr, status_code=200)(call)


async def _answer(
    method: Method, state: HttpState, request: Request[Any, Any, Any]
) -> tuple[Response[Any], str]:
    """The response and its status code name (for the metrics)."""
    if tracing.installed() is None:
        return await _answer_untraced(method, state, request)
    attributes = {"rpc.system": "http", "rpc.method": method.name, "http.request.method": "POST",
                  "url.path": request.url.path}
    with tracing.span(f"POST /api/v1/{method.name}", attributes,
                      parent=request.headers.get("traceparent"), kind="server"):
        return await _answer_untraced(method, state, request)


async def _answer_untraced(
    method: Method, state: HttpState, request: Request[Any, Any, Any]
) -> tuple[Response[Any], str]:
    try:
        message = decode_json(method.request_type, await request.body(), max_text_chars=state.max_text_chars)
        handler = state.backend.handler(method)
        if handler is None:
            text = f"{method.name} is not implemented by this server"
            return error_response(501, "UNIMPLEMENTED", text), "UNIMPLEMENTED"
        if method.server_streaming:
            # the first message is awaited here, so that a request that fails at once (not found,
            # invalid) gets its own status rather than a 200 with an error line
            messages = aiter(handler(message))
            try:
                first = [await anext(messages)]
            except StopAsyncIteration:
                first = []
            lines = _lines(method, first, messages, state.private)
            return Stream(lines, media_type="application/x-ndjson"), "OK"
        return Response(encode_json(plain(await handler(message))), media_type=_JSON, status_code=200), "OK"
    except HTTPException:
        raise
    except Exception as exc:
        return exception_response(exc, method.name), status_of(exc)[1]


async def _lines(
    method: Method, first: list[Any], messages: AsyncIterator[Any], private: PrivatePaths
) -> AsyncIterator[bytes]:
    """One JSON object per line; an error after the first line ends the stream with an error line."""
    try:
        for message in first:
            yield encode_json(plain(message)) + b"\n"
        if not first:
            return
        async for message in messages:
            yield encode_json(plain(message)) + b"\n"
    except Exception as exc:
        status, code = status_of(exc)
        text = private.redact(str(exc)) if status != 500 else f"{method.name}: internal error"
        yield b'{"error":' + error_body(status, code, text) + b"}\n"


async def _without_private_paths(private: PrivatePaths, response: Response[Any]) -> Response[Any]:
    """Every error answer of every route, with the server's own paths replaced (:mod:`.private_paths`)."""
    if (response.status_code or 200) >= 400 and isinstance(response.content, bytes):
        response.content = private.redact(response.content.decode()).encode()
    return response


def create_app(
    backend: ApiBackend,
    *,
    metrics: ApiMetrics | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    signer: UrlSigner | None = None,
    settings: Settings | None = None,
    authentication: CallAuthentication | None = None,
    oauth: AuthService | None = None,
    pages: Callable[[HttpState], list[Any]] | None = None,
) -> Litestar:
    """The app over ``backend``; ``signer`` serves signed URLs when the store is a local folder.
    ``settings`` gives the text limit and who may call (Host and Origin rules: :mod:`.http_access`);
    ``authentication`` whether a bearer token is required (:mod:`.authentication`), ``oauth`` the
    authorization server served under ``/oauth2`` and ``/.well-known`` (:mod:`.oauth_routes`), with
    the console's login under ``/auth`` (:mod:`.session_routes`); ``pages`` makes more routes over
    the app's state (the console, :mod:`wingspan.server.console`)."""
    settings = settings or Settings()
    state = HttpState(backend, metrics or ApiMetrics(), settings)
    implemented = frozenset(m.name for m in methods() if backend.handler(m) is not None)
    bearer = authentication is not None and authentication.required
    document = json.dumps(openapi_document(implemented, VERSION, settings.max_text_chars, bearer)).encode()

    @get(["/schema", "/schema/openapi.json"], include_in_schema=False)
    async def schema() -> Response[bytes]:
        return Response(document, media_type=_JSON)

    @get("/healthz", include_in_schema=False)
    async def healthz() -> Response[bytes]:
        return Response(b'{"status":"ok"}', media_type=_JSON)

    @get("/readyz", include_in_schema=False)
    async def readyz() -> Response[bytes]:
        if state.draining:
            return error_response(503, "UNAVAILABLE", "the server is shutting down")
        try:
            await backend.ready()
        except Exception as exc:
            return error_response(
                503, "UNAVAILABLE", f"the database does not answer: {type(exc).__name__}: {exc}"
            )
        return Response(b'{"status":"ready"}', media_type=_JSON)

    @get("/metrics", include_in_schema=False)
    async def prometheus() -> Response[bytes]:
        return Response(await state.metrics.scrape(), media_type=CONTENT_TYPE)

    routes: list[Any] = [schema, healthz, readyz, prometheus]
    # every method has its route (501 until the backend offers it); the document shows the offered ones
    routes += [_rpc_route(m, state) for m in methods()]
    routes += resource_routes(state)
    if pages is not None:
        routes += pages(state)
    store = backend.admin.store
    if isinstance(store, LocalBlobStore) and signer is not None:
        routes += blob_routes(store, signer)
    if oauth is not None:
        routes += oauth_routes(oauth) + session_routes(oauth)
    app = Litestar(
        routes,
        openapi_config=None,
        logging_config=None,
        request_max_body_size=max_body_bytes,
        exception_handlers={Exception: http_exception_handler},
        after_request=functools.partial(_without_private_paths, state.private),
    )
    app.state.api = state
    # in front of Litestar's own handler, so refusals come before routing and its error handling
    rules = AccessRules(
        bound_host=settings.http_host,
        allowed_hosts=settings.allowed_hosts,
        cors_origins=settings.cors_origins,
    )
    handler: Any = app.asgi_handler
    if authentication is not None and authentication.required:
        handler = BearerAuthentication(handler, authentication, oauth.sessions if oauth is not None else None)
    app.asgi_handler = HttpAccess(DrainingStreams(handler, state.drained), rules)  # type: ignore[assignment]
    return app
