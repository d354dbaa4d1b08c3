"""Signed blob URLs of the local folder store, served on the HTTP port (GET, HEAD and PUT).

The URL's signature, expiry and method are checked by
:mod:`wingspan.core.storage.signing` against the raw request target; a bad URL is a
403, a missing object a 404. HEAD answers as GET does, without the body.

Uploads are write-once and bounded: a PUT whose body passes the ``max_bytes`` its URL
was signed with is a 413 as soon as it does (a declared Content-Length over it, at
once: the body is never read); a PUT to a location that holds other bytes is a 409, one
with the same bytes a 200 (a retried upload); a body whose MD5 is not the one its
location is named by (see :mod:`wingspan.core.storage.uploads`) is a 400. Nothing of a
refused body is kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

from litestar import Request, Response, get, head, put
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from wingspan.core.storage.local import BodyTooLargeError, LocalBlobStore
from wingspan.core.storage.signing import BLOB_ROUTE, UrlSigner
from wingspan.core.storage.uploads import named_md5
from wingspan.server.api.http_errors import exception_response

__all__ = ["blob_routes"]


def _target(request: Request[Any, Any, Any]) -> str:
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def _bodiless(status: int, media_type: str, headers: Mapping[str, str]) -> Response[None]:
    """A HEAD answer: the headers GET would send (its Content-Length too), no body. Litestar
    wants HEAD handlers annotated as bodiless, and renders only bytes for this media type."""
    empty: Any = Response(b"", status_code=status, media_type=media_type, headers=dict(headers))
    return cast("Response[None]", empty)


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

    @head(path, include_in_schema=False)
    async def download_head(request: Request[Any, Any, Any]) -> Response[None]:
        try:
            granted = signer.verify(_target(request), request_method="HEAD")
            size = (await store.stat(store.uri_for_key(granted.key))).size
        except Exception as exc:
            failed = exception_response(exc, "blob download")
            return _bodiless(failed.status_code or 500, "application/json", failed.headers)
        return _bodiless(200, "application/octet-stream", {"content-length": str(size)})

    @put(path, include_in_schema=False, request_max_body_size=None, status_code=200)
    async def upload(request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            granted = signer.verify(_target(request), request_method="PUT")
            declared = request.headers.get("content-length", "")
            if granted.max_bytes is not None and declared.isdigit() and int(declared) > granted.max_bytes:
                raise BodyTooLargeError.over(f"the upload's Content-Length {declared}", granted.max_bytes)
            await store.put_once(store.uri_for_key(granted.key), request.stream(),
                                 max_bytes=granted.max_bytes, md5=named_md5(granted.key))
        except Exception as exc:  # a body too large is answered at once: the rest is never read
            return exception_response(exc, "blob upload")
        return Response(b"", status_code=200, media_type="application/octet-stream")

    return [download, download_head, upload]
