"""The audit log: every API call that changes something, or tries to, with who made it.

:data:`CHANGES` names the methods that change something; the path both transports share
(:class:`~wingspan.server.api.backend.ApiBackend`) records each call of them after it ends:
the principal, the method, the target as far as the request names it (project, domain, name,
version; for a role binding the name is its subject and the version its role) and the result
(``OK`` or the error's code, a refusal for want of a role included). Refusals that come before
any method runs (no valid token, a request the contract refuses) name nobody and nothing, and
are answered, not recorded; refused logins are recorded as ``Login``.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any, Final, final

import anyio
from sqlalchemy import insert
from sqlmodel import col, select

from wingspan.core.errors import InvalidArgumentError
from wingspan.server.auth.principal import Principal
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import AuditEventRow

__all__ = ["CHANGES", "LOGIN", "AuditEvent", "AuditLog", "AuditPage", "AuditQuery", "target_of"]

log = logging.getLogger("wingspan.server.audit")

#: the API methods that change something
CHANGES: Final = frozenset({
    "CreateProject", "UpdateProject", "UpdateProjectSettings",
    "RegisterTask", "RegisterWorkflow", "RegisterLaunchPlan", "UpdateLaunchPlanState",
    "CreateExecution", "TerminateExecution", "RelaunchExecution", "RecoverExecution", "DeleteExecution",
    "UpdateExecution",
    "SetSignal", "CreateUploadLocation",
    "GrantRole", "RevokeRole",
})
#: the method a password login is recorded under (the authorization server's, not the API's)
LOGIN: Final = "Login"
# as the services' lists (services.pagination, which imports this package)
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
# the fields that lead from a request to the message naming its target
_LEADS = ("id", "execution_id", "node_execution_id", "binding")


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: datetime
    principal: str
    method: str
    project: str
    domain: str
    name: str
    version: str
    result: str


@dataclasses.dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of events, newest first, and the token of the next page ("" after the last)."""

    events: list[AuditEvent]
    next_token: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which events to list: each filter applies when set; newest first, a page at a time."""

    principal: str = ""
    method: str = ""
    project: str = ""
    since: datetime | None = None
    limit: int = 0
    token: str = ""


def target_of(method: str, request: Any) -> tuple[str, str, str, str]:
    """The project, domain, name and version a request acts on ("" where it names none)."""
    if method in ("CreateProject", "UpdateProject"):
        project = getattr(request, "project", None)
        return (str(getattr(project, "id", "") or ""), "", "", "")
    binding = getattr(request, "binding", None)
    if binding is not None:
        return binding.project, binding.domain, binding.subject, binding.role
    if method == "CreateUploadLocation":
        return request.project, request.domain, request.filename, ""
    found = _find(request, depth=0)
    if found is None:
        return "", "", "", ""
    return (found.project, str(getattr(found, "domain", "") or ""), str(getattr(found, "name", "") or ""),
            str(getattr(found, "version", "") or ""))


def _find(message: Any, depth: int) -> Any:
    if isinstance(getattr(message, "project", None), str) and message.project:
        return message
    if depth > 4:
        return None
    for lead in _LEADS:
        inner = getattr(message, lead, None)
        if inner is not None and not isinstance(inner, str):
            found = _find(inner, depth + 1)
            if found is not None:
                return found
    return None


def _clip(text: str, size: int) -> str:
    return text[:size]


@final
class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        # events not written yet, and the one writer at a time, who writes every event waiting
        self._waiting: list[dict[str, Any]] = []
        self._writing = anyio.Lock()

    async def record(self, principal: Principal | str, method: str, target: tuple[str, str, str, str],
                     result: str) -> None:
        """Keeps one event, and returns once it is stored. A failure to keep it is logged, never
        raised: the call it records has happened (or been refused) already, and its caller must
        hear how it really ended. Calls ending while another's event is being written have their
        events written together next, in one transaction (each create of 40 at once wrote a
        transaction of its own)."""
        project, domain, name, version = target
        subject = principal if isinstance(principal, str) else principal.subject
        self._waiting.append(dict(
            at=now(), principal=_clip(subject, 255), method=_clip(method, 64), project=_clip(project, 63),
            domain=_clip(domain, 63), name=_clip(name, 255), version=_clip(version, 255),
            result=_clip(result, 32)))
        async with self._writing:
            if not self._waiting:
                return  # the writer before stored this one with its own
            events, self._waiting = self._waiting, []
            try:
                async with self.db.write() as session:
                    await session.execute(insert(AuditEventRow), events)
            except Exception:
                log.exception("could not record %d event(s) in the audit log, among them %s by %s (%s)",
                              len(events), method, subject, result)
            except BaseException:
                self._waiting[:0] = events  # cancelled: the next writer stores them
                raise

    async def events(self, query: AuditQuery) -> AuditPage:
        limit = query.limit or DEFAULT_LIMIT
        if not 0 < limit <= MAX_LIMIT:
            raise InvalidArgumentError(f"limit {limit} is out of range: ask for 1 to {MAX_LIMIT} events")
        select_ = select(AuditEventRow).order_by(col(AuditEventRow.id).desc()).limit(limit + 1)
        if query.token:
            if not query.token.isdigit():
                raise InvalidArgumentError("the page token is not one this server gave: list again from "
                                           "the first page")
            select_ = select_.where(col(AuditEventRow.id) < int(query.token))
        for field, value in (("principal", query.principal), ("method", query.method),
                             ("project", query.project)):
            if value:
                select_ = select_.where(getattr(AuditEventRow, field) == value)
        if query.since is not None:
            select_ = select_.where(col(AuditEventRow.at) >= query.since)
        async with self.db.read() as session:
            rows = list((await session.execute(select_)).scalars())
        more = len(rows) > limit
        rows = rows[:limit]
        events = [AuditEvent(r.id or 0, utc(r.at), r.principal, r.method, r.project, r.domain, r.name,
                             r.version, r.result) for r in rows]
        return AuditPage(events, str(events[-1].id) if more and events else "")
