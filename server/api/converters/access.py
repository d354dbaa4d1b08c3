"""Who may do what, and who did what: role bindings and the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.core.errors import InvalidArgumentError
from wingspan.protos import v1
from wingspan.server.auth.audit import AuditPage, AuditQuery
from wingspan.server.auth.roles import Binding

__all__ = ["audit_events_message", "audit_query_of", "binding_of", "bindings_message"]


def binding_of(message: v1.RoleBinding | None) -> Binding:
    if message is None:  # the request contract requires it (server/api/contract.py)
        raise InvalidArgumentError("the request needs a binding")
    return Binding(message.subject, message.role, message.project, message.domain)


def bindings_message(bindings: Sequence[Binding]) -> v1.ListRoleBindingsResponse:
    return v1.ListRoleBindingsResponse(bindings=[
        v1.RoleBinding(subject=b.subject, role=b.role, project=b.project, domain=b.domain) for b in bindings])


def audit_query_of(request: v1.ListAuditEventsRequest) -> AuditQuery:
    return AuditQuery(principal=request.principal, method=request.method, project=request.project,
                      since=request.since, limit=request.limit, token=request.token)


def audit_events_message(found: AuditPage) -> v1.ListAuditEventsResponse:
    events = [v1.AuditEvent(id=e.id, at=e.at, principal=e.principal, method=e.method, project=e.project,
                            domain=e.domain, name=e.name, version=e.version, result=e.result)
              for e in found.events]
    return v1.ListAuditEventsResponse(events=events, next_token=found.next_token)
