"""Roles per project and domain, stored as bindings.

Three roles, each including the one below it: ``viewer`` reads, ``contributor`` also
registers, runs, terminates and answers signals, ``admin`` also manages the project and who
may do what in it. ``*`` as a binding's project holds in every project, as its domain in
every domain; both ``*`` is the deployment-wide binding (a deployment-wide admin). A
binding names a subject, or ``group:NAME`` for everyone an
issuer says is in that group.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import final

from sqlalchemy import delete, or_
from sqlmodel import col, select

from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.server.auth.principal import Principal
from wingspan.server.db.engine import Database, is_unique_violation, now
from wingspan.server.db.models import RoleBindingRow

__all__ = ["EVERY", "Binding", "Role", "RoleBindings"]

#: project and domain of a deployment-wide binding
EVERY = "*"


class Role(enum.IntEnum):
    VIEWER = 1
    CONTRIBUTOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise InvalidArgumentError(
                f"unknown role {name[:40]!r}: choose from admin, contributor or viewer") from None


@dataclasses.dataclass(frozen=True, slots=True)
class Binding:
    """``subject`` holds ``role`` (its name) in ``project`` and ``domain`` (``*``: every one)."""

    subject: str
    role: str
    project: str = EVERY
    domain: str = EVERY


@final
class RoleBindings:
    """The bindings in the database: grant, revoke, list, and the role a principal holds."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def grant(self, subject: str, role: Role, project: str = EVERY, domain: str = EVERY) -> bool:
        """Binds; False when the binding existed already."""
        from sqlalchemy.exc import IntegrityError

        try:
            async with self.db.write() as session:
                session.add(RoleBindingRow(subject=subject, role=role.label, project=project, domain=domain,
                                           created_at=now()))
        except IntegrityError as exc:
            if is_unique_violation(exc):
                return False
            raise
        return True

    async def revoke(self, subject: str, role: Role, project: str = EVERY, domain: str = EVERY) -> None:
        async with self.db.write() as session:
            gone = await session.execute(delete(RoleBindingRow).where(
                col(RoleBindingRow.subject) == subject, col(RoleBindingRow.role) == role.label,
                col(RoleBindingRow.project) == project, col(RoleBindingRow.domain) == domain))
        if not getattr(gone, "rowcount", 0):
            raise NotFoundError(f"{subject} holds no {role.label} binding in {_where(project, domain)}")

    async def list(self, *, project: str = "", subject: str = "") -> Sequence[RoleBindingRow]:
        query = select(RoleBindingRow)
        if project:
            query = query.where(col(RoleBindingRow.project) == project)
        if subject:
            query = query.where(col(RoleBindingRow.subject) == subject)
        query = query.order_by(col(RoleBindingRow.project), col(RoleBindingRow.domain),
                               col(RoleBindingRow.subject), col(RoleBindingRow.role))
        async with self.db.read() as session:
            return list((await session.execute(query)).scalars())

    async def of(self, principal: Principal) -> Sequence[RoleBindingRow]:
        """The bindings that hold for ``principal``: its own and its groups'."""
        subjects = [principal.subject, *(f"group:{g}" for g in principal.groups)]
        query = select(RoleBindingRow).where(col(RoleBindingRow.subject).in_(subjects)).order_by(
            col(RoleBindingRow.project), col(RoleBindingRow.domain), col(RoleBindingRow.role))
        async with self.db.read() as session:
            return list((await session.execute(query)).scalars())

    async def held(self, principal: Principal, project: str, domain: str) -> Role | None:
        """The highest role ``principal`` holds in ``project``/``domain`` (a deployment-wide
        binding counts everywhere); None when it holds none. With an empty project, the highest
        role it holds anywhere (what "may list projects" asks)."""
        subjects = [principal.subject, *(f"group:{g}" for g in principal.groups)]
        query = select(RoleBindingRow.role).where(col(RoleBindingRow.subject).in_(subjects))
        if project:
            query = query.where(
                or_(col(RoleBindingRow.project) == EVERY, col(RoleBindingRow.project) == project),
                or_(col(RoleBindingRow.domain) == EVERY, col(RoleBindingRow.domain) == domain))
        async with self.db.read() as session:
            roles = [Role.named(name) for name in (await session.execute(query)).scalars()]
        return max(roles, default=None)


def _where(project: str, domain: str) -> str:
    if project == domain == EVERY:
        return "the whole deployment"
    return f"project {project}, domain {domain}"
