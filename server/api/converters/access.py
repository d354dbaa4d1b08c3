"""Who may do what: role bindings."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.core.errors import InvalidArgumentError
from wingspan.protos import v1
from wingspan.server.auth.roles import Binding

__all__ = ["binding_of", "bindings_message"]


def binding_of(message: v1.RoleBinding | None) -> Binding:
    if message is None:  # the request contract requires it (server/api/contract.py)
        raise InvalidArgumentError("the request needs a binding")
    return Binding(message.subject, message.role, message.project, message.domain)


def bindings_message(bindings: Sequence[Binding]) -> v1.ListRoleBindingsResponse:
    return v1.ListRoleBindingsResponse(bindings=[
        v1.RoleBinding(subject=b.subject, role=b.role, project=b.project, domain=b.domain) for b in bindings])
