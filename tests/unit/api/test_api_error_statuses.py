"""Every error class's status, both ways: a server raises it, gRPC and HTTP answer with the
status its class carries (``status_name``), and the SDK client raises the class that status names.

The expected table is written out here on purpose: if a transport, the error classes or the
client's reverse mapping drift apart, one of these cases fails.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import wingspan.core
import wingspan.core.errors as errors
import wingspan.server
from tests.unit.api.transports import HTTP_STATUS, CallError, GrpcClient, HttpClient
from wingspan._remote.endpoint import Endpoint
from wingspan._remote.transport import RemoteError, Transport
from wingspan.core.errors import WingspanError, error_class_for
from wingspan.core.plugins.manager import PluginLoadError
from wingspan.core.storage.local import BodyTooLargeError
from wingspan.core.storage.signing import SignatureError
from wingspan.core.storage.uris import InvalidUriError
from wingspan.core.types.engine import UnsupportedTypeError
from wingspan.core.types.transformer import ValueMismatch
from wingspan.protos import v1
from wingspan.server.api import http_errors
from wingspan.server.serve import ApiServer, RoleFailedError
from wingspan.server.services.concurrency import PlanInactiveError

#: (class a server raises, status on both transports, class the client raises)
CASES: list[tuple[type[WingspanError], str, type[WingspanError]]] = [
    (errors.UserError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (errors.ConfigError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (errors.TypeTransformerError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (UnsupportedTypeError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (ValueMismatch, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (errors.CompilationError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (errors.InvalidArgumentError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (errors.MissingExtraError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (errors.NonRetryableError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (InvalidUriError, "INVALID_ARGUMENT", errors.InvalidArgumentError),
    (errors.PermissionDeniedError, "PERMISSION_DENIED", errors.PermissionDeniedError),
    (SignatureError, "PERMISSION_DENIED", errors.PermissionDeniedError),
    (errors.UnauthenticatedError, "UNAUTHENTICATED", errors.UnauthenticatedError),
    (errors.ResourceExhaustedError, "RESOURCE_EXHAUSTED", errors.ResourceExhaustedError),
    (BodyTooLargeError, "RESOURCE_EXHAUSTED", errors.ResourceExhaustedError),
    (errors.NotFoundError, "NOT_FOUND", errors.NotFoundError),
    (errors.AlreadyExistsError, "ALREADY_EXISTS", errors.AlreadyExistsError),
    (errors.FailedPreconditionError, "FAILED_PRECONDITION", errors.FailedPreconditionError),
    (errors.LeaseLostError, "FAILED_PRECONDITION", errors.FailedPreconditionError),
    (PlanInactiveError, "FAILED_PRECONDITION", errors.FailedPreconditionError),
    (errors.UnavailableError, "UNAVAILABLE", errors.UnavailableError),
    (errors.StorageError, "UNAVAILABLE", errors.UnavailableError),
]
#: classes that answer INTERNAL, which the client raises as its own RemoteError
INTERNAL = [errors.WingspanError, errors.ExecutionFailedError, errors.SystemError_, PluginLoadError,
            RoleFailedError]


def _raised(kind: type[WingspanError]) -> WingspanError:
    if kind is errors.MissingExtraError:
        return errors.MissingExtraError("the feature", "extra", "a library")
    if kind is ValueMismatch:
        return ValueMismatch("int", "str")
    return kind("the message of the failure")


def _every_class(root: type[WingspanError]) -> set[type[WingspanError]]:
    found = {root}
    for sub in root.__subclasses__():
        found |= _every_class(sub)
    return found


def test_every_error_class_of_core_and_server_is_covered() -> None:
    for package in (wingspan.core, wingspan.server):  # every module, so every class is defined
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    covered = {kind for kind, _, _ in CASES} | set(INTERNAL)
    ours = {k for k in _every_class(WingspanError)
            if k.__module__.startswith(("wingspan.core", "wingspan.server"))}
    assert ours <= covered, f"error classes without a pinned status: {sorted(map(str, ours - covered))}"


@pytest.mark.parametrize(("status", "client_class"), sorted({(s, c) for _, s, c in CASES}, key=str))
def test_the_client_class_of_a_status_answers_with_that_status(
        status: str, client_class: type[WingspanError]) -> None:
    assert error_class_for(status) is client_class
    assert client_class.status_name == status
    assert http_errors.HTTP_STATUS[status] == HTTP_STATUS[status]


async def _answers(api_server: ApiServer, raised: WingspanError,
                   monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, BaseException]:
    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise raised

    monkeypatch.setattr(api_server.admin.projects, "list_projects", failing)
    grpc, http = GrpcClient("127.0.0.1", api_server.grpc_port), HttpClient(api_server.http_url)
    client = Transport(Endpoint.parse(api_server.grpc_address))
    try:
        with pytest.raises(CallError) as over_grpc:
            await grpc.call("ListProjects", v1.ListProjectsRequest())
        with pytest.raises(CallError) as over_http:  # HttpClient also checks the HTTP status
            await http.call("ListProjects", v1.ListProjectsRequest())
        with pytest.raises(WingspanError) as in_client:
            await client.call("list_projects", v1.ListProjectsRequest(), "list the projects")
    finally:
        await grpc.aclose()
        await http.aclose()
        await client.aclose()
    return over_grpc.value.code, over_http.value.code, in_client.value


@pytest.mark.parametrize(("raised", "status", "client_class"), CASES, ids=lambda v: getattr(v, "__name__", v))
async def test_a_server_error_reaches_the_client_as_its_status(
        api_server: ApiServer, monkeypatch: pytest.MonkeyPatch,
        raised: type[WingspanError], status: str, client_class: type[WingspanError]) -> None:
    over_grpc, over_http, in_client = await _answers(api_server, _raised(raised), monkeypatch)
    assert (over_grpc, over_http) == (status, status)
    assert type(in_client) is client_class, in_client
    assert "list the projects" in str(in_client)
    assert in_client.user_error == _raised(raised).user_error
    assert in_client.retryable == _raised(raised).retryable


@pytest.mark.parametrize("raised", INTERNAL, ids=lambda v: v.__name__)
async def test_other_errors_are_internal(
        api_server: ApiServer, monkeypatch: pytest.MonkeyPatch, raised: type[WingspanError]) -> None:
    over_grpc, over_http, in_client = await _answers(api_server, _raised(raised), monkeypatch)
    assert (over_grpc, over_http) == ("INTERNAL", "INTERNAL")
    assert type(in_client) is RemoteError
    # the details stay in the server's log, on both transports alike
    assert "the message of the failure" not in str(in_client)
    assert "internal error" in str(in_client) and "the server log has the details" in str(in_client)
