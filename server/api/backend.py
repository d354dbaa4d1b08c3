"""What the transports call: the admin service, with the data proxy and the version beside it.

:meth:`ApiBackend.handler` finds the coroutine (or async iterator, for streaming
RPCs) serving a method; None when the service layer does not offer it yet, which
the transports report as unimplemented.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from wingspan.core import tracing
from wingspan.core.api_level import API_LEVEL
from wingspan.core.errors import WingspanError
from wingspan.core.version import VERSION
from wingspan.protos import v1
from wingspan.server.api.dataproxy import DataProxy
from wingspan.server.api.methods import Method
from wingspan.server.api.rpcs import AccessRpcs, AdminRpcs
from wingspan.server.auth.audit import CHANGES, AuditLog, target_of
from wingspan.server.auth.principal import current_principal
from wingspan.server.auth.service import AuthService
from wingspan.server.services.admin import AdminService

__all__ = ["ApiBackend"]


class ApiBackend:
    """The admin service of both transports; ``http_address`` is what GetVersion reports.

    With ``auth``, the methods that manage role bindings and list the audit log are served;
    when it requires authentication, every handler first checks that the caller's roles allow
    the call (:mod:`wingspan.server.auth.policy`); and every call that changes something is
    recorded in the audit log with how it ended, a refusal included
    (:mod:`wingspan.server.auth.audit`)."""

    def __init__(self, admin: AdminService, *, http_address: str, auth: AuthService | None = None) -> None:
        self.admin = admin
        self.http_address = http_address
        self.auth = auth
        self.rpcs = AdminRpcs(admin)
        self.dataproxy = DataProxy(admin.store, admin.projects.check_scope, getattr(admin, "settings", None))
        self._own: dict[str, Callable[[Any], Any]] = {
            "get_version": self.get_version,
            "create_upload_location": self.dataproxy.create_upload_location,
            "create_download_location": self.dataproxy.create_download_location,
        }
        if auth is not None:
            access = AccessRpcs(auth)
            self._own.update(grant_role=access.grant_role, revoke_role=access.revoke_role,
                             list_role_bindings=access.list_role_bindings,
                             list_audit_events=access.list_audit_events)

    async def get_version(self, request: Any = None) -> Any:
        return v1.GetVersionResponse(
            version=VERSION, api_level=API_LEVEL, http_address=self.http_address
        )

    def handler(self, method: Method) -> Callable[[Any], Any] | None:
        found = self._own.get(method.attr) or getattr(self.rpcs, method.attr, None)
        if not callable(found):
            return None
        if tracing.installed() is not None and not method.server_streaming:
            found = _traced(method, found)
        if self.auth is None:
            return found
        if self.auth.required:
            found = _authorized(self.auth, method, found)
        if method.name in CHANGES:
            found = _audited(self.auth.audit, method, found)
        return found

    async def ready(self) -> None:
        """Raises unless the database answers (what /readyz reports)."""
        from sqlalchemy import text

        async with self.admin.db.read() as session:
            await session.execute(text("SELECT 1"))


def _traced(method: Method, call: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``call`` in a span of its own: the service's part of the API call's time."""
    async def unary(request: Any) -> Any:
        with tracing.span(f"service.{method.attr}", {"wingspan.method": method.name}):
            return await call(request)

    return unary


def _authorized(auth: AuthService, method: Method, call: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``call``, run only once the caller's roles allow it (a stream: before its first message)."""
    if method.server_streaming:
        async def stream(request: Any) -> AsyncIterator[Any]:
            await auth.authorize(current_principal(), method.name, request)
            async for message in call(request):
                yield message

        return stream

    async def unary(request: Any) -> Any:
        await auth.authorize(current_principal(), method.name, request)
        return await call(request)

    return unary


def _audited(audit: AuditLog, method: Method, call: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``call``, recorded in the audit log once it has ended (the methods that change something
    are unary)."""
    async def unary(request: Any) -> Any:
        try:
            answer = await call(request)
        except Exception as exc:
            result = exc.status_name if isinstance(exc, WingspanError) else "INTERNAL"
            await audit.record(current_principal(), method.name, target_of(method.name, request), result)
            raise
        await audit.record(current_principal(), method.name, target_of(method.name, request), "OK")
        return answer

    return unary
