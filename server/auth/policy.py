"""What each API method needs: the role, and the project and domain it is needed in.

One table (:data:`NEEDS`) for both transports; :func:`authorize` checks a call against it
before the service runs. A method missing from the table needs the deployment-wide admin
(closed by default); a test pins that every method of the IDL is in it.
"""

from __future__ import annotations

from typing import Any, Final

from wingspan.core.errors import PermissionDeniedError
from wingspan.server.auth.principal import Principal
from wingspan.server.auth.roles import EVERY, Role, RoleBindings

__all__ = ["ANY_ROLE", "NEEDS", "OPEN", "SCOPES", "authorize", "scope_ceiling", "scope_of"]

#: methods anyone may call, with or without a token
OPEN: Final = frozenset({"GetVersion"})
#: methods any authenticated caller may call (what a client needs to find its way)
ANY_ROLE: Final = frozenset({"ListProjects", "ListDomains"})

#: the scopes that bound what a token may do, whatever roles its subject holds: a token asked for
#: with ``wingspan:read`` only reads. A token naming none of them is bound by its roles alone.
SCOPES: Final = {"wingspan:read": Role.VIEWER, "wingspan:write": Role.CONTRIBUTOR,
                 "wingspan:admin": Role.ADMIN}

_V, _C, _A = Role.VIEWER, Role.CONTRIBUTOR, Role.ADMIN
NEEDS: Final[dict[str, Role]] = {
    "CreateProject": _A, "UpdateProject": _A, "GetProjectSettings": _V, "UpdateProjectSettings": _A,
    "RegisterTask": _C, "RegisterWorkflow": _C, "RegisterLaunchPlan": _C, "UpdateLaunchPlanState": _C,
    "GetTask": _V, "ListTasks": _V, "GetWorkflow": _V, "ListWorkflows": _V, "GetLaunchPlan": _V,
    "GetActiveLaunchPlan": _V, "ListLaunchPlans": _V, "ListNames": _V,
    "CreateExecution": _C, "TerminateExecution": _C, "RelaunchExecution": _C, "RecoverExecution": _C,
    "DeleteExecution": _A, "UpdateExecution": _C,
    "GetExecution": _V, "ListExecutions": _V, "GetExecutionData": _V, "WatchExecution": _V,
    "ListNotifications": _V, "ListNodeExecutions": _V, "GetNodeExecution": _V, "GetNodeExecutionData": _V,
    "ListTaskExecutions": _V, "GetTaskExecution": _V, "GetTaskExecutionData": _V, "GetTaskLogs": _V,
    "ListEvents": _V, "ListSignals": _V, "SetSignal": _C,
    "CreateUploadLocation": _C, "CreateDownloadLocation": _V,
    "GrantRole": _A, "RevokeRole": _A, "ListRoleBindings": _A, "ListAuditEvents": _A,
}
# the fields that lead from a request to the identifier naming its project and domain
_LEADS = ("id", "execution_id", "node_execution_id", "list", "binding")


def scope_of(method: str, request: Any) -> tuple[str, str]:
    """The project and domain a call acts in; ``(*, *)`` for the deployment (or when the request
    names none, so that only a deployment-wide binding allows it)."""
    if method == "CreateProject":
        return EVERY, EVERY
    if method == "UpdateProject":
        return (request.project.id if request.project else "") or EVERY, EVERY
    if method in ("ListRoleBindings", "ListAuditEvents"):
        return request.project or EVERY, EVERY
    if method == "CreateDownloadLocation":
        return _scope_of_uri(request.native_url)
    found = _find(request, depth=0)
    return found if found else (EVERY, EVERY)


def _find(message: Any, depth: int) -> tuple[str, str] | None:
    project, domain = getattr(message, "project", None), getattr(message, "domain", None)
    if isinstance(project, str) and isinstance(domain, str) and project:
        return project, domain or EVERY
    if depth > 4:
        return None
    for lead in _LEADS:
        inner = getattr(message, lead, None)
        if inner is not None and not isinstance(inner, str):
            found = _find(inner, depth + 1)
            if found:
                return found
    return None


def _scope_of_uri(uri: str) -> tuple[str, str]:
    """Stored objects live under ``.../<kind>/<project>/<domain>/...`` (uploads, executions)."""
    parts = [p for p in uri.split("://", 1)[-1].split("/") if p]
    for index, part in enumerate(parts[:-2]):
        if part in ("uploads", "executions"):
            return parts[index + 1], parts[index + 2]
    return EVERY, EVERY


def scope_ceiling(scopes: frozenset[str]) -> Role | None:
    """The most a token with ``scopes`` may do (None: its scopes bound nothing)."""
    return max((SCOPES[s] for s in scopes if s in SCOPES), default=None)


async def authorize(principal: Principal, method: str, request: Any, bindings: RoleBindings) -> None:
    """Raises PermissionDeniedError unless ``principal`` may call ``method`` with ``request``."""
    if not principal.authenticated or method in OPEN:
        return  # authentication is off: every caller may do everything
    if method in ANY_ROLE:
        return
    needed = NEEDS.get(method, Role.ADMIN)
    ceiling = scope_ceiling(principal.scopes)
    if ceiling is not None and needed > ceiling:
        granted = " ".join(sorted(s for s in principal.scopes if s in SCOPES))
        wanted = next(name for name, role in SCOPES.items() if role == needed)
        raise PermissionDeniedError(
            f"the token of {principal.subject} may not call {method}: its scope ({granted}) allows "
            f"{ceiling.label} calls only, and {method} needs {needed.label}; ask for a token with the "
            f"scope {wanted}")
    project, domain = scope_of(method, request) if method in NEEDS else (EVERY, EVERY)
    held = await bindings.held(principal, project, domain)
    if held is not None and held >= needed:
        return
    where = "the whole deployment" if project == EVERY else (
        f"project {project!r}" + ("" if domain == EVERY else f", domain {domain!r}"))
    holds = f"holds {held.label} there" if held else "holds no role there"
    flags = "" if project == EVERY else f" --project {project}"
    flags += "" if domain == EVERY else f" --domain {domain}"
    raise PermissionDeniedError(
        f"{principal.subject} may not call {method}: it needs the {needed.label} role in {where} "
        f"({principal.subject} {holds}); an admin grants it with: wingspan access grant "
        f"{principal.subject} {needed.label}{flags}")
