"""Who may do what on a server, and who did what: role bindings, granted, revoked and listed
through the API (GrantRole, RevokeRole, ListRoleBindings), and the audit log (ListAuditEvents),
as :class:`~wingspan._remote.client.AsyncRemote`, ``wingspan access`` and ``wingspan audit``
use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wingspan._remote.transport import Transport
from wingspan.protos import v1

__all__ = ["EVERY", "audit_events", "grant_role", "revoke_role", "role_bindings"]

#: project and domain of a deployment-wide binding
EVERY = "*"


def _binding(subject: str, role: str, project: str, domain: str) -> Any:
    return v1.RoleBinding(subject=subject, role=role, project=project, domain=domain)


async def grant_role(transport: Transport, subject: str, role: str, project: str = EVERY,
                     domain: str = EVERY) -> None:
    """``subject`` (a user, a service account, or ``group:NAME``) gets ``role`` (admin, contributor
    or viewer) in ``project``/``domain``; ``*`` for both: the whole deployment."""
    request = v1.GrantRoleRequest(binding=_binding(subject, role, project, domain))
    await transport.call("grant_role", request, f"grant {role} to {subject}")


async def revoke_role(transport: Transport, subject: str, role: str, project: str = EVERY,
                      domain: str = EVERY) -> None:
    request = v1.RevokeRoleRequest(binding=_binding(subject, role, project, domain))
    await transport.call("revoke_role", request, f"revoke {role} from {subject}")


async def role_bindings(
        transport: Transport, *, project: str = "", subject: str = "") -> list[dict[str, str]]:
    request = v1.ListRoleBindingsRequest(project=project, subject=subject)
    answer = await transport.call("list_role_bindings", request, "list the role bindings")
    return [{"subject": b.subject, "role": b.role, "project": b.project, "domain": b.domain}
            for b in answer.bindings]


async def audit_events(transport: Transport, *, principal: str = "", method: str = "", project: str = "",
                       since: datetime | None = None, limit: int = 100) -> list[dict[str, str]]:
    """The calls that changed something, newest first, at most ``limit`` of them (pages read as
    needed); each filter applies when given."""
    events: list[dict[str, str]] = []
    token = ""
    while len(events) < limit:
        request = v1.ListAuditEventsRequest(principal=principal, method=method, project=project, since=since,
                                            limit=min(limit - len(events), 1000), token=token)
        answer = await transport.call("list_audit_events", request, "list the audit log")
        events += [{"at": e.at.isoformat() if e.at else "", "principal": e.principal, "method": e.method,
                    "project": e.project, "domain": e.domain, "name": e.name, "version": e.version,
                    "result": e.result} for e in answer.events]
        token = answer.next_token
        if not token:
            break
    return events
