"""Signed blob URLs of the local folder store, served on the HTTP port (GET and PUT).

The URL's signature, expiry and method are checked by
:mod:`wingspan.core.storage.signing` against the raw request target; a bad URL is a
403, a missing object a 404. Bodies stream in and out, so they have no size limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, get, put
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.storage.signing import BLOB_ROUTE, UrlSigner
from wingspan.server.api.http_errors import exception_response

__all__ = ["blob_routes"]


def _target(request: Request[Any, Any, Any]) -> str:
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def blob_routes(store: LocalBlobStore, signer: UrlSigner) -> list[HTTPRouteHandler]:
    path = BLOB_ROUTE + "{key:path}"

    @get(path, include_in_schema=False)
    async def download(request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            granted = signer.verify(_target(request), request_method="GET")
            uri = store.uri_for_key(granted.key)
            size = (await store.stat(uri)).size
        except Exception as exc:
            return exception_response(exc, "blob download")

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in store.stream(uri):
                yield chunk

        return Stream(chunks(), media_type="application/octet-stream", headers={"content-length": str(size)})

    @put(path, include_in_schema=False, request_max_body_size=None, status_code=200)
    async def upload(request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            granted = signer.verify(_target(request), request_method="PUT")
            await store.put(store.uri_for_key(granted.key), request.stream())
        except Exception as exc:
            return exception_response(exc, "blob upload")
        return Response(b"", status_code=200, media_type="application/octet-stream")

    return [download, upload]
