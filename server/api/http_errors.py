"""Platform errors as HTTP responses: the one place the HTTP transport maps them.

A WingspanError carries its canonical status as data (``status_name``, see wingspan.core.errors);
this module turns that into an HTTP status. The body is always
``{"code": <gRPC status name>, "message": ..., "status": <HTTP status>}``:

    InvalidArgumentError, any other UserError  400 INVALID_ARGUMENT
    UnauthenticatedError                       401 UNAUTHENTICATED
    PermissionDeniedError (a bad signed URL)   403 PERMISSION_DENIED
    NotFoundError                              404 NOT_FOUND
    AlreadyExistsError                         409 ALREADY_EXISTS
    FailedPreconditionError                    409 FAILED_PRECONDITION
    ResourceExhaustedError (over a limit)      413 RESOURCE_EXHAUSTED
    a method the backend lacks                 501 UNIMPLEMENTED
    UnavailableError, StorageError             503 UNAVAILABLE (retryable)
    anything else                              500 INTERNAL (logged; the details stay on the server)
"""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from wingspan.core.errors import WingspanError

__all__ = ["HTTP_STATUS", "error_body", "error_response", "http_exception_handler", "status_of"]

log = logging.getLogger("wingspan.server.http")

#: the HTTP status for each canonical status name an error can carry
HTTP_STATUS: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "FAILED_PRECONDITION": 409,
    "RESOURCE_EXHAUSTED": 413,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "INTERNAL": 500,
}
# Litestar's own errors come as HTTP statuses: their canonical names
_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ALREADY_EXISTS",
    413: "RESOURCE_EXHAUSTED",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}


def status_of(exc: BaseException) -> tuple[int, str]:
    code = exc.status_name if isinstance(exc, WingspanError) else "INTERNAL"
    return HTTP_STATUS.get(code, 500), code


def error_body(status: int, code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message, "status": status}).encode()


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        error_body(status, code, message), status_code=status, media_type="application/json", headers=headers
    )


def exception_response(exc: Exception, where: str) -> Response[bytes]:
    """The response for an error raised by the backend (or by decoding its request)."""
    status, code = status_of(exc)
    if status == 500:
        log.error("%s failed", where, exc_info=exc)
        return error_response(
            500, code, f"{where}: internal error ({type(exc).__name__}); the server log has the details"
        )
    return error_response(status, code, str(exc))


def _detail(request: Request[Any, Any, Any], exc: HTTPException) -> str:
    allowed = (exc.headers or {}).get("allow")
    if exc.status_code == 405 and allowed:
        return f"{request.method} is not a method of {request.url.path}; it takes {allowed}"
    return str(exc.detail)


def http_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Litestar's own errors (unknown route, wrong method, body too large) in our error shape, with
    their headers (a 405 says which methods the path takes, in ``Allow``)."""
    if isinstance(exc, HTTPException):
        status = exc.status_code
        code = _CODES.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
        return error_response(status, code, _detail(request, exc), exc.headers)
    return exception_response(exc, f"{request.method} {request.url.path}")
